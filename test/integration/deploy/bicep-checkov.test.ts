/**
 * The Azure side as code (deploy/azure): Checkov's Bicep checks pass or are skipped with a reason written in the
 * template, and the template sets what the security review asks for (issue 17) — checked on the parsed template,
 * so that a template that silently drops, say, the retention policy fails here even though no Checkov check
 * looks for it. Mutation tests show each kind of check bites. `bicep build` runs too where a Bicep CLI exists.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CHECKOV_VERSION,
  ensureCheckov,
  findBicepCli,
  parseBicep,
  runCheckovBicep,
  type BicepJson,
  type CheckovReport,
} from '../../support/checkov.js';

const TEMPLATE_DIR = join(process.cwd(), 'deploy', 'azure');
const MAIN = join(TEMPLATE_DIR, 'main.bicep');
const ENDPOINT_MODULE = join(TEMPLATE_DIR, 'modules', 'private-endpoint.bicep');

// Built-in Azure role definition ids (the same in every tenant).
const ROLE = {
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6',
  keyVaultCryptoServiceEncryptionUser: 'e147488a-f6f5-4113-8e2d-b22465e65bf6',
} as const;
/** Roles far beyond what the worker or the storage key identity need; none may appear in the template. */
const OVERPRIVILEGED_ROLES: Record<string, string> = {
  '8e3af657-a8ff-443c-a75c-2fe8c4bcb635': 'Owner',
  'b24988ac-6180-42a0-ab88-20f7382dd24c': 'Contributor',
  '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9': 'User Access Administrator',
  'f58310d9-a9f6-439a-9e8d-f62e7b41a168': 'Role Based Access Control Administrator',
  '17d1049b-9a84-46fb-8f53-869881c3d3ab': 'Storage Account Contributor',
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b': 'Storage Blob Data Owner',
  '00482a5a-887f-4fb3-b363-3b7fe8e74483': 'Key Vault Administrator',
  'b86a8fe4-44ce-4948-aee5-eccb2c155cd7': 'Key Vault Secrets Officer',
  '14b46e9e-c2b7-41b4-b07b-48a6ebf60603': 'Key Vault Crypto Officer',
};

/** 7 years, counting the two leap days a 7-year span can hold. */
const SEVEN_YEARS_DAYS = 2557;

/**
 * Checkov checks that must run and pass on this template: each stands for a setting the issue names (TLS 1.2,
 * https only, no public access, default-deny network rules, geo-replication, private containers, Key Vault
 * purge protection / soft delete / no public network, an HSM-backed key with an expiry). If one stops being
 * evaluated (say the scanner no longer parses a resource), the test says so instead of passing on fewer checks.
 */
const REQUIRED_PASSING_CHECKS = [
  'CKV_AZURE_3',
  'CKV_AZURE_34',
  'CKV_AZURE_35',
  'CKV_AZURE_36',
  'CKV_AZURE_44',
  'CKV_AZURE_59',
  'CKV_AZURE_206',
  'CKV_AZURE_40',
  'CKV_AZURE_42',
  'CKV_AZURE_109',
  'CKV_AZURE_110',
  'CKV_AZURE_111',
  'CKV_AZURE_112',
  'CKV_AZURE_189',
];

// ------------------------------------------------------------------------------------------------------------
// Checkov's verdict
// ------------------------------------------------------------------------------------------------------------

/** Everything wrong with a Checkov run over the template, one line each (empty: all good). */
function checkovProblems(report: CheckovReport): string[] {
  const problems: string[] = [];
  for (const file of report.parsingErrors) problems.push(`Checkov could not parse ${file}`);
  if (report.resourceCount === 0) problems.push('Checkov found no resources');
  for (const r of report.failed) {
    problems.push(
      `${r.check_id} failed (${r.check_name}) for ${r.resource} at ${r.file_path}:${r.file_line_range.join('-')}`,
    );
  }
  for (const r of report.skipped) {
    const reason = (r.check_result.suppress_comment ?? '').trim();
    if (reason === '' || reason === 'No comment provided' || reason.length < 20) {
      problems.push(
        `${r.check_id} is skipped for ${r.resource} without a reason (write \`checkov:skip=${r.check_id}: why\`)`,
      );
    }
  }
  const passed = new Set(report.passed.map((r) => r.check_id));
  for (const id of REQUIRED_PASSING_CHECKS) {
    if (!passed.has(id)) problems.push(`${id} did not run and pass`);
  }
  return problems;
}

// ------------------------------------------------------------------------------------------------------------
// The parsed template (pycep's JSON: references are bare identifiers, expressions are nested objects)
// ------------------------------------------------------------------------------------------------------------

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An expression as readable text: `storage.id`, `!retentionPolicyLocked`, `guid(a, b)`; literals as themselves. */
function text(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  if (isObj(v) && isObj(v.operator)) {
    const op = v.operator;
    const operands = isObj(op.operands) ? op.operands : {};
    if (op.type === 'property_accessor') return `${text(operands.operand_1)}.${text(operands.operand_2)}`;
    if (op.type === 'not') return `!${text(operands.bool_value)}`;
  }
  if (isObj(v) && isObj(v.function)) {
    const fn = v.function;
    const args = isObj(fn.parameters) ? Object.values(fn.parameters).filter((a) => a !== null) : [];
    return `${String(fn.type)}(${args.map(text).join(', ')})`;
  }
  return JSON.stringify(v);
}

/** The body of a resource or module (a conditional one is wrapped in `{ condition, config }`). */
function body(config: Obj): { body: Obj; condition?: unknown } {
  if ('condition' in config && isObj(config.config)) return { body: config.config, condition: config.condition };
  return { body: config };
}

const at = (v: unknown, ...path: string[]): unknown => path.reduce<unknown>((o, k) => (isObj(o) ? o[k] : undefined), v);

/** Every value under `v` whose key is `key`, at any depth. */
function valuesOfKey(v: unknown, key: string): unknown[] {
  if (Array.isArray(v)) return v.flatMap((x) => valuesOfKey(x, key));
  if (!isObj(v)) return [];
  return Object.entries(v).flatMap(([k, x]) => (k === key ? [x, ...valuesOfKey(x, key)] : valuesOfKey(x, key)));
}

/** Every string under `v`, at any depth. */
function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.flatMap(strings);
  if (isObj(v)) return Object.values(v).flatMap(strings);
  return [];
}

interface Template {
  readonly main: BicepJson;
  readonly endpointModule: BicepJson;
}

/**
 * Everything the template must set for issue 17 that is missing or wrong, one line each (empty: all good).
 * Checks values, not just the presence of keys, and follows parameters to their defaults and decorators.
 */
function templateProblems({ main, endpointModule }: Template): string[] {
  const problems: string[] = [];
  const expect = (ok: boolean, problem: string) => {
    if (!ok) problems.push(problem);
  };
  const resources = Object.entries(main.resources).map(([name, r]) => ({ name, type: r.type, ...body(r.config) }));
  const ofType = (type: string) => resources.filter((r) => r.type === type);
  const one = (type: string) => {
    const found = ofType(type);
    expect(found.length === 1, `expected exactly one ${type}, found ${found.length}`);
    return found[0];
  };
  const param = (name: string) => main.parameters[name];
  const paramDefault = (name: string): unknown => param(name)?.default;
  const decorator = (name: string, type: string): unknown =>
    param(name)?.decorators.find((d) => d.type === type)?.argument;
  /** A variable's value in place of its identifier, recursively. */
  const resolve = (v: unknown): unknown => {
    if (typeof v === 'string' && v in main.variables) return resolve(main.variables[v]?.value);
    if (Array.isArray(v)) return v.map(resolve);
    if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x)]));
    return v;
  };
  /** A number written literally, or a parameter's default. */
  const numberOf = (v: unknown): number | undefined => {
    if (typeof v === 'number') return v;
    const d = typeof v === 'string' ? paramDefault(v) : undefined;
    return typeof d === 'number' ? d : undefined;
  };
  const stringOf = (v: unknown): string | undefined => {
    if (typeof v === 'string' && param(v) !== undefined) {
      const d = paramDefault(v);
      return typeof d === 'string' ? d : undefined;
    }
    return typeof v === 'string' ? v : undefined;
  };

  // --- parameters the deployment supplies
  for (const p of [
    'location',
    'storageAccountName',
    'keyVaultName',
    'privateEndpointSubnetId',
    'logAnalyticsWorkspaceId',
  ]) {
    expect(param(p) !== undefined, `parameter ${p} is missing`);
  }

  // --- identities: the worker's and the storage key's are different identities
  const identities = ofType('Microsoft.ManagedIdentity/userAssignedIdentities').map((r) => r.name);
  const storage = one('Microsoft.Storage/storageAccounts');
  const vault = one('Microsoft.KeyVault/vaults');
  if (!storage || !vault) return problems;
  const sp = at(storage.body, 'properties');

  // --- storage account
  expect(at(sp, 'isHnsEnabled') === true, 'storage: hierarchical namespace (isHnsEnabled) is not true');
  expect(at(sp, 'minimumTlsVersion') === 'TLS1_2', 'storage: minimumTlsVersion is not TLS1_2');
  expect(at(sp, 'supportsHttpsTrafficOnly') === true, 'storage: supportsHttpsTrafficOnly is not true');
  expect(at(sp, 'allowSharedKeyAccess') === false, 'storage: shared-key access is not disabled');
  expect(at(sp, 'allowBlobPublicAccess') === false, 'storage: public blob access is not disabled');
  expect(at(sp, 'publicNetworkAccess') === 'Disabled', 'storage: public network access is not disabled');
  expect(at(sp, 'networkAcls', 'defaultAction') === 'Deny', 'storage: the network default action is not Deny');
  expect(
    at(sp, 'encryption', 'requireInfrastructureEncryption') === true,
    'storage: infrastructure encryption is not required',
  );
  expect(
    at(sp, 'encryption', 'keySource') === 'Microsoft.Keyvault',
    'storage: the key source is not Key Vault (customer-managed key)',
  );
  expect(
    text(at(sp, 'encryption', 'keyvaultproperties', 'keyvaulturi')) === `${vault.name}.properties.vaultUri`,
    "storage: the customer-managed key is not in the template's key vault",
  );
  expect(
    at(sp, 'encryption', 'keyvaultproperties', 'keyversion') === undefined,
    'storage: the key version is pinned, so the account would not follow key rotation',
  );
  const cmkIdentity = text(at(sp, 'encryption', 'identity', 'userAssignedIdentity')).replace(/\.id$/, '');
  expect(
    identities.includes(cmkIdentity),
    'storage: the key is not reached through a user-assigned identity of the template',
  );
  expect(at(storage.body, 'identity', 'type') === 'UserAssigned', 'storage: the account identity is not UserAssigned');
  const sku = at(storage.body, 'sku', 'name');
  const skus = typeof sku === 'string' && param(sku) ? decorator(sku, 'allowed') : [sku];
  expect(
    Array.isArray(skus) && skus.length > 0 && skus.every((s) => s === 'Standard_GRS' || s === 'Standard_RAGRS'),
    `storage: the SKU may be other than Standard_GRS / Standard_RAGRS (geo-redundant and archive-capable): ${JSON.stringify(skus)}`,
  );

  // --- containers: exactly a data container with a time-based retention policy and a state container without
  const blobServices = ofType('Microsoft.Storage/storageAccounts/blobServices').filter(
    (r) => r.body.parent === storage.name,
  );
  const blobService = blobServices[0];
  expect(blobServices.length === 1, 'storage: no blob service resource');
  const containers = ofType('Microsoft.Storage/storageAccounts/blobServices/containers');
  expect(containers.length === 2, `expected two containers (data and state), found ${containers.length}`);
  for (const c of containers) {
    expect(c.body.parent === blobService?.name, `container ${c.name} is not in the storage account's blob service`);
    expect(at(c.body, 'properties', 'publicAccess') === 'None', `container ${c.name}: publicAccess is not None`);
  }
  expect(
    !JSON.stringify(main).includes('immutableStorageWithVersioning'),
    'version-level immutability is used: ADLS Gen2 (hierarchical namespace) supports only container-level policies',
  );
  const policies = ofType('Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies');
  const data = containers.find((c) => policies.some((p) => p.body.parent === c.name));
  const state = containers.find((c) => c !== data);
  expect(data !== undefined, 'no container has a time-based immutability (WORM) policy');
  expect(policies.length === 1, `expected one immutability policy (the data container's), found ${policies.length}`);
  const policy = policies[0];
  if (policy) {
    expect(policy.body.name === 'default', 'the immutability policy is not named default');
    const days = at(policy.body, 'properties', 'immutabilityPeriodSinceCreationInDays');
    expect(
      (numberOf(days) ?? 0) >= SEVEN_YEARS_DAYS,
      `the retention period is shorter than 7 years (${SEVEN_YEARS_DAYS} days)`,
    );
    if (typeof days === 'string' && param(days)) {
      const min = decorator(days, 'min_value');
      expect(
        typeof min === 'number' && min >= SEVEN_YEARS_DAYS,
        `parameter ${days} may be set below 7 years (@minValue)`,
      );
    }
    expect(
      at(policy.body, 'properties', 'allowProtectedAppendWrites') !== true &&
        at(policy.body, 'properties', 'allowProtectedAppendWritesAll') !== true,
      'the retention policy allows appends to protected blobs (Tidemark only ever creates objects)',
    );
    if (policy.condition !== undefined) {
      const cond = text(policy.condition);
      const flag = cond.replace(/^!/, '');
      expect(
        cond.startsWith('!') && paramDefault(flag) === false,
        `the retention policy is deployed only when ${cond}; only "not yet locked", default false, may gate it`,
      );
    }
  }
  const dataName = data ? stringOf(data.body.name) : undefined;
  const stateName = state ? stringOf(state.body.name) : undefined;
  expect(
    dataName !== undefined && stateName !== undefined && dataName !== stateName,
    'the data and state containers must differ',
  );

  // --- lifecycle: tier to cool and archive, inside the data container, never delete
  const lifecycle = one('Microsoft.Storage/storageAccounts/managementPolicies');
  if (lifecycle && data) {
    const rules = resolve(at(lifecycle.body, 'properties', 'policy', 'rules'));
    expect(valuesOfKey(rules, 'delete').length === 0, 'a lifecycle rule deletes blobs (nothing may be deleted)');
    expect(valuesOfKey(rules, 'tierToCool').length > 0, 'no lifecycle rule tiers to cool');
    expect(valuesOfKey(rules, 'tierToArchive').length > 0, 'no lifecycle rule tiers to archive');
    for (const prefix of strings(valuesOfKey(rules, 'prefixMatch'))) {
      if (prefix.includes('${') || prefix.includes('/')) {
        expect(
          prefix.startsWith(`\${${text(data.body.name)}}/`),
          `lifecycle prefix ${prefix} is not inside the data container`,
        );
      }
    }
    const days = (action: string) =>
      valuesOfKey(rules, action).map((a) => numberOf(at(a, 'daysAfterModificationGreaterThan')) ?? NaN);
    const cool = Math.min(...days('tierToCool'));
    expect(
      days('tierToArchive').every((d) => d > cool),
      'an archive rule fires before the cool rule',
    );
  }

  // --- Key Vault
  const vp = at(vault.body, 'properties');
  expect(at(vp, 'enableRbacAuthorization') === true, 'key vault: RBAC authorization is not enabled');
  expect(at(vp, 'enablePurgeProtection') === true, 'key vault: purge protection is not enabled');
  expect(at(vp, 'enableSoftDelete') === true, 'key vault: soft delete is not enabled');
  expect(at(vp, 'publicNetworkAccess') === 'Disabled', 'key vault: public network access is not disabled');
  const key = ofType('Microsoft.KeyVault/vaults/keys').find((k) => k.body.parent === vault.name);
  expect(key !== undefined, 'key vault: no key for the storage account');
  expect(
    key !== undefined && text(key.body.name) === text(at(sp, 'encryption', 'keyvaultproperties', 'keyname')),
    'storage: the customer-managed key is not the key the template creates',
  );

  // --- role assignments: the worker gets Storage Blob Data Contributor on the two containers and Key Vault
  // Secrets User on the vault; the storage key identity gets Crypto Service Encryption User on the key; nothing else
  const grants = ofType('Microsoft.Authorization/roleAssignments').map((r) => {
    const roleRef = at(r.body, 'properties', 'roleDefinitionId');
    const role = strings(resolve(roleRef)).find((s) => /^[0-9a-f-]{36}$/.test(s)) ?? text(roleRef);
    return { principal: text(at(r.body, 'properties', 'principalId')), role, scope: text(r.body.scope) };
  });
  for (const g of grants) {
    const name = OVERPRIVILEGED_ROLES[g.role];
    expect(name === undefined, `role ${name ?? ''} is assigned to ${g.principal}: far more than Tidemark needs`);
    expect(g.scope !== 'undefined', `a role is assigned to ${g.principal} on the whole resource group`);
  }
  const worker = identities.find((i) => i !== cmkIdentity);
  const granted = (principal: string) =>
    grants
      .filter((g) => g.principal === `${principal}.properties.principalId`)
      .map((g) => `${g.role}@${g.scope}`)
      .sort();
  expect(
    identities.length === 2 && worker !== undefined,
    'expected two user-assigned identities: the worker and the storage key',
  );
  if (worker && data && state) {
    expect(
      JSON.stringify(granted(worker)) ===
        JSON.stringify(
          [
            `${ROLE.storageBlobDataContributor}@${data.name}`,
            `${ROLE.storageBlobDataContributor}@${state.name}`,
            `${ROLE.keyVaultSecretsUser}@${vault.name}`,
          ].sort(),
        ),
      `the worker's roles are not exactly Storage Blob Data Contributor on the two containers and Key Vault Secrets User on the vault: ${JSON.stringify(granted(worker))}`,
    );
    expect(
      JSON.stringify(granted(cmkIdentity)) ===
        JSON.stringify([`${ROLE.keyVaultCryptoServiceEncryptionUser}@${key?.name ?? '?'}`]),
      `the storage key identity's roles are not exactly Key Vault Crypto Service Encryption User on the key: ${JSON.stringify(granted(cmkIdentity))}`,
    );
  }
  expect(
    grants.every((g) => [worker, cmkIdentity].some((i) => g.principal === `${i}.properties.principalId`)),
    'a role is assigned to a principal other than the two identities',
  );

  // --- diagnostic settings to Log Analytics: account metrics; blob reads, writes and deletes; Key Vault audit
  const diagnostics = ofType('Microsoft.Insights/diagnosticSettings');
  const diagnosticsOf = (scope: string | undefined) =>
    diagnostics.find((d) => scope !== undefined && d.body.scope === scope);
  const enabled = (d: (typeof diagnostics)[number] | undefined, kind: 'logs' | 'metrics') =>
    ((at(d?.body, 'properties', kind) as unknown[] | undefined) ?? [])
      .filter((e) => at(e, 'enabled') === true)
      .map((e) => String(at(e, 'category') ?? at(e, 'categoryGroup')));
  for (const d of diagnostics) {
    expect(
      at(d.body, 'properties', 'workspaceId') === 'logAnalyticsWorkspaceId',
      `diagnostic setting ${d.name} does not send to the logAnalyticsWorkspaceId workspace`,
    );
  }
  expect(
    enabled(diagnosticsOf(storage.name), 'metrics').includes('Transaction'),
    'storage: no Transaction metrics to Log Analytics',
  );
  const blobLogs = enabled(diagnosticsOf(blobService?.name), 'logs');
  for (const category of ['StorageRead', 'StorageWrite', 'StorageDelete']) {
    expect(blobLogs.includes(category), `blob service: ${category} logs do not go to Log Analytics`);
  }
  expect(
    enabled(diagnosticsOf(blobService?.name), 'metrics').includes('Transaction'),
    'blob service: no Transaction metrics',
  );
  expect(
    enabled(diagnosticsOf(vault.name), 'logs').some((c) => ['allLogs', 'audit', 'AuditEvent'].includes(c)),
    'key vault: its audit events do not go to Log Analytics',
  );

  // --- private endpoints on the given subnet: blob and dfs for the account, vault for the key vault
  const endpoints = Object.values(main.modules)
    .filter((m) => at(m, 'detail', 'path') === 'modules/private-endpoint.bicep')
    .map((m) => body(m.config).body)
    .map(
      (b) =>
        `${text(at(b, 'params', 'groupId'))}:${text(at(b, 'params', 'targetResourceId'))}:${text(at(b, 'params', 'subnetId'))}`,
    )
    .sort();
  expect(
    JSON.stringify(endpoints) ===
      JSON.stringify(
        [
          `blob:${storage.name}.id:privateEndpointSubnetId`,
          `dfs:${storage.name}.id:privateEndpointSubnetId`,
          `vault:${vault.name}.id:privateEndpointSubnetId`,
        ].sort(),
      ),
    `the private endpoints are not blob + dfs (storage) and vault (key vault) on privateEndpointSubnetId: ${JSON.stringify(endpoints)}`,
  );
  const pe = Object.values(endpointModule.resources).find((r) => r.type === 'Microsoft.Network/privateEndpoints');
  const pp = at(pe && body(pe.config).body, 'properties');
  expect(
    text(at(pp, 'subnet', 'id')) === 'subnetId' &&
      JSON.stringify(at(pp, 'privateLinkServiceConnections')) ===
        JSON.stringify([
          { name: 'name', properties: { privateLinkServiceId: 'targetResourceId', groupIds: ['groupId'] } },
        ]),
    'modules/private-endpoint.bicep does not connect its target and group id on its subnet',
  );

  // --- outputs Tidemark's configuration needs
  const output = (name: string) => text(main.outputs[name]?.value);
  expect(output('accountUrl').startsWith('https://${'), 'output accountUrl (https) is missing');
  expect(data !== undefined && output('dataContainer') === `${data.name}.name`, 'output dataContainer is missing');
  expect(state !== undefined && output('stateContainer') === `${state.name}.name`, 'output stateContainer is missing');
  expect(
    worker !== undefined && output('workerIdentityClientId') === `${worker}.properties.clientId`,
    'output workerIdentityClientId is missing',
  );
  return problems;
}

// ------------------------------------------------------------------------------------------------------------
// Tests
// ------------------------------------------------------------------------------------------------------------

const source = () => ({ main: readFileSync(MAIN, 'utf8'), endpointModule: readFileSync(ENDPOINT_MODULE, 'utf8') });

/** The template with one replacement, refusing a replacement that matches nothing (a mutation must mutate). */
function mutate(text: string, from: string | RegExp, to: string): string {
  const out = text.replace(from, to);
  assert.notEqual(out, text, `mutation did not apply: ${String(from)}`);
  return out;
}

test(`Checkov ${CHECKOV_VERSION} (Bicep framework) passes the Azure template; each skipped check says why in the template`, (t) => {
  const tools = ensureCheckov();
  const report = runCheckovBicep(tools, TEMPLATE_DIR);
  t.diagnostic(
    `Checkov ${report.version}: ${report.passed.length} passed, ${report.failed.length} failed, ${report.skipped.length} skipped ` +
      `(${report.skipped.map((r) => `${r.check_id}: ${(r.check_result.suppress_comment ?? '').trim()}`).join('; ')}), ` +
      `${report.resourceCount} resources`,
  );
  assert.equal(report.version, CHECKOV_VERSION);
  assert.deepEqual(checkovProblems(report), []);
});

test('the Azure template sets what issue 17 asks for (parsed, not grepped)', () => {
  const tools = ensureCheckov();
  const { main, endpointModule } = parseBicep(tools, source());
  assert.ok(main && endpointModule);
  assert.deepEqual(templateProblems({ main, endpointModule }), []);
});

test('the requirement checks catch a template that drops or weakens a setting', () => {
  const tools = ensureCheckov();
  const { main, endpointModule } = source();
  const mutants: Record<string, { text: string; expect: RegExp }> = {
    noRetention: {
      text: mutate(main, /resource dataRetention [\s\S]*?\n}\n/, ''),
      expect: /no container has a time-based immutability/,
    },
    shortRetention: {
      text: mutate(
        main,
        /@minValue\(2557\)\n@maxValue\(146000\)\nparam retentionDays int = 2557/,
        '@minValue(1)\nparam retentionDays int = 365',
      ),
      expect: /retention period is shorter than 7 years/,
    },
    sharedKey: {
      text: mutate(main, 'allowSharedKeyAccess: false', 'allowSharedKeyAccess: true'),
      expect: /shared-key access is not disabled/,
    },
    accountWideRole: {
      text: mutate(main, /(resource workerWritesData [\s\S]*?scope: )dataContainer/, '$1storage'),
      expect: /the worker's roles are not exactly/,
    },
    ownerRole: {
      text: mutate(
        main,
        "var storageBlobDataContributorRoleId = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'",
        "var storageBlobDataContributorRoleId = '8e3af657-a8ff-443c-a75c-2fe8c4bcb635'",
      ),
      expect: /role Owner is assigned/,
    },
    lifecycleDeletes: {
      text: mutate(
        main,
        /(var coolRule = [\s\S]*?baseBlob: \{\n)/,
        '$1        delete: {\n          daysAfterModificationGreaterThan: 3650\n        }\n',
      ),
      expect: /a lifecycle rule deletes blobs/,
    },
    noBlobWriteLogs: {
      text: mutate(main, /\{\n\s*category: 'StorageWrite'\n\s*enabled: true\n\s*\}\n/, ''),
      expect: /StorageWrite logs do not go to Log Analytics/,
    },
    noDfsEndpoint: {
      text: mutate(main, /module dfsEndpoint [\s\S]*?\n}\n/, ''),
      expect: /the private endpoints are not blob \+ dfs/,
    },
  };
  const parsed = parseBicep(tools, {
    endpointModule,
    ...Object.fromEntries(Object.entries(mutants).map(([k, m]) => [k, m.text])),
  });
  const endpoint = parsed.endpointModule;
  assert.ok(endpoint);
  for (const [name, m] of Object.entries(mutants)) {
    const doc = parsed[name];
    assert.ok(doc, name);
    const problems = templateProblems({ main: doc, endpointModule: endpoint });
    assert.ok(
      problems.some((p) => m.expect.test(p)),
      `${name}: expected a problem matching ${String(m.expect)}, got ${JSON.stringify(problems)}`,
    );
  }
});

test('a failing Checkov check and a skip without a reason both fail the scan', (t) => {
  const tools = ensureCheckov();
  const dir = mkdtempSync(join(tmpdir(), 'tidemark-bicep-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(TEMPLATE_DIR, dir, { recursive: true });
  let main = readFileSync(join(dir, 'main.bicep'), 'utf8');
  main = mutate(main, "minimumTlsVersion: 'TLS1_2'", "minimumTlsVersion: 'TLS1_0'");
  main = mutate(main, /(checkov:skip=CKV_AZURE_43):[^\n]*/, '$1');
  writeFileSync(join(dir, 'main.bicep'), main);
  const problems = checkovProblems(runCheckovBicep(tools, dir));
  t.diagnostic(problems.join('\n'));
  assert.ok(
    problems.some((p) => p.startsWith('CKV_AZURE_44 failed')),
    JSON.stringify(problems),
  );
  assert.ok(
    problems.some((p) => p.startsWith('CKV_AZURE_43 is skipped') && p.includes('without a reason')),
    JSON.stringify(problems),
  );
});

test('bicep build compiles the template (where a Bicep CLI is installed)', (t) => {
  const bicep = findBicepCli();
  if (!bicep) {
    t.skip(
      'no Bicep CLI on PATH or in ~/.azure/bin: it ships only through NuGet and GitHub releases, which this machine cannot reach; Checkov parsed the template above',
    );
    return;
  }
  const r = spawnSync(bicep, ['build', MAIN, '--stdout'], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  const arm = JSON.parse(r.stdout) as { resources?: unknown };
  assert.ok(arm.resources, 'bicep build produced no resources');
});
