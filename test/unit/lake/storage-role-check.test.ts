/**
 * The storage role check of `tidemark doctor`: the built-in Azure roles' permissions (as Resource Manager lists
 * them for a caller holding that role) judged against what Tidemark needs.
 *
 * Resource Manager cannot be reached from these machines, so the listing is tested against a local HTTP server
 * that answers `GET …/providers/Microsoft.Authorization/permissions` the way ARM documents it (a fake, for that
 * reason only); the roles' action lists are those Azure publishes for the built-in roles.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import {
  actionMatches,
  checkStorageRole,
  judgeStoragePermissions,
  type ArmPermission,
} from '../../../src/lake/storage-role-check.js';

const BLOB_DATA_CONTRIBUTOR: ArmPermission = {
  actions: [
    'Microsoft.Storage/storageAccounts/blobServices/containers/delete',
    'Microsoft.Storage/storageAccounts/blobServices/containers/read',
    'Microsoft.Storage/storageAccounts/blobServices/containers/write',
    'Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action',
  ],
  notActions: [],
  dataActions: [
    'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete',
    'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read',
    'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write',
    'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action',
    'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action',
  ],
  notDataActions: [],
};
const BLOB_DATA_READER: ArmPermission = {
  actions: ['Microsoft.Storage/storageAccounts/blobServices/containers/read'],
  dataActions: ['Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'],
};
const OWNER: ArmPermission = { actions: ['*'], notActions: [], dataActions: [], notDataActions: [] };
const CONTRIBUTOR: ArmPermission = {
  actions: ['*'],
  notActions: [
    'Microsoft.Authorization/*/Delete',
    'Microsoft.Authorization/*/Write',
    'Microsoft.Authorization/elevateAccess/Action',
  ],
};

const statuses = (perms: ArmPermission[]) =>
  judgeStoragePermissions(perms).map((f) => `${f.status}:${f.message.split(' ')[0]!.replace(/:$/, '')}`);

test('wildcards match as ARM does (case-insensitive, * anywhere)', () => {
  assert.ok(actionMatches('*', 'Microsoft.Storage/storageAccounts/listKeys/action'));
  assert.ok(actionMatches('Microsoft.Authorization/*/Write', 'Microsoft.Authorization/roleAssignments/write'));
  assert.ok(
    actionMatches(
      'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*',
      'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action',
    ),
  );
  assert.ok(!actionMatches('Microsoft.Storage/storageAccounts/read', 'Microsoft.Storage/storageAccounts/write'));
});

test('Storage Blob Data Contributor alone is exactly enough', () => {
  assert.deepEqual(statuses([BLOB_DATA_CONTRIBUTOR]), ['ok:the']);
});

test('Owner is flagged: role assignments, the account key, account and immutability-policy writes; no data access', () => {
  assert.deepEqual(statuses([OWNER]), [
    'missing:Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read',
    'missing:Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write',
    'missing:Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action',
    'excess:Microsoft.Authorization/roleAssignments/write',
    'excess:Microsoft.Storage/storageAccounts/listKeys/action',
    'excess:Microsoft.Storage/storageAccounts/write',
    'excess:Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies/write',
  ]);
});

test("Contributor's notActions take role assignments away, but the account key stays flagged", () => {
  const s = statuses([BLOB_DATA_CONTRIBUTOR, CONTRIBUTOR]);
  assert.ok(!s.includes('excess:Microsoft.Authorization/roleAssignments/write'), s.join(', '));
  assert.ok(s.includes('excess:Microsoft.Storage/storageAccounts/listKeys/action'), s.join(', '));
  assert.ok(!s.some((x) => x.startsWith('missing:')), s.join(', '));
});

test('a reader cannot land data: write and add are missing, each with the fix', () => {
  const findings = judgeStoragePermissions([BLOB_DATA_READER]);
  assert.deepEqual(
    findings.map((f) => f.status),
    ['missing', 'missing'],
  );
  assert.ok(findings.every((f) => f.fix?.includes('Storage Blob Data Contributor')));
});

test('the listing asks Resource Manager for the account, with the token, and follows nextLink', async () => {
  const seen: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    seen.push(req);
    res.setHeader('content-type', 'application/json');
    if (req.headers.authorization !== 'Bearer arm-token') {
      res.statusCode = 401;
      res.end('{}');
      return;
    }
    const page2 = `http://127.0.0.1:${(server.address() as AddressInfo).port}/page2`;
    res.end(
      JSON.stringify(req.url === '/page2' ? { value: [OWNER] } : { value: [BLOB_DATA_CONTRIBUTOR], nextLink: page2 }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const arm = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const account = '/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/claimslake';
  try {
    const findings = await checkStorageRole(account, { getToken: () => Promise.resolve({ token: 'arm-token' }) }, arm);
    assert.equal(seen[0]?.url, `${account}/providers/Microsoft.Authorization/permissions?api-version=2022-04-01`);
    assert.equal(seen.length, 2, 'the second page was read');
    assert.ok(
      findings.some((f) => f.status === 'excess'),
      'the Owner entry on page 2 is judged',
    );
    await assert.rejects(
      checkStorageRole(account, { getToken: () => Promise.resolve({ token: 'wrong' }) }, arm),
      /refused to list the identity's permissions .* \(HTTP 401\): check sink\.resourceId/,
    );
  } finally {
    server.close();
  }
});
