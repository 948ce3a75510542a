/**
 * What the sink's Entra identity may do on its storage account, as Azure Resource Manager reports it, judged
 * against what Tidemark needs. Role assignments are invisible to the Blob data plane, so `tidemark doctor` asks
 * ARM's "Permissions - List For Resource" (`GET {account id}/providers/Microsoft.Authorization/permissions`):
 * the caller's effective `actions` / `notActions` and `dataActions` / `notDataActions` on that scope, one entry
 * per role that applies.
 *
 * Needed: the blob data actions of Storage Blob Data Contributor (read, write, add, list through read, delete
 * for the stage's own temporary objects). More than needed, flagged: any management write or `*` (Owner,
 * Contributor), role-assignment writes (Owner, User Access Administrator: the identity could grant itself
 * anything) and `listKeys` (the account key: shared-key access to everything, bypassing Entra and its audit).
 */

/** One permission entry as ARM returns it. */
export interface ArmPermission {
  readonly actions?: readonly string[];
  readonly notActions?: readonly string[];
  readonly dataActions?: readonly string[];
  readonly notDataActions?: readonly string[];
}

/** A finding about the identity's role on the account (the doctor report's shape, without its scope). */
export interface StorageRoleFinding {
  readonly status: 'ok' | 'missing' | 'excess';
  readonly check: string;
  readonly message: string;
  readonly fix?: string;
}

const BLOBS = 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs';

/** The data actions Tidemark uses, each with what it is for. */
export const NEEDED_DATA_ACTIONS: ReadonlyArray<readonly [action: string, why: string]> = [
  [`${BLOBS}/read`, 'read manifests, schemas and data files; list prefixes'],
  [`${BLOBS}/write`, 'write data files, manifests, ledgers and the Delta log'],
  [`${BLOBS}/add/action`, 'append blocks while uploading'],
];

/** Management actions that are more than a data-plane pipeline should hold, and why each is flagged. */
const EXCESS_ACTIONS: ReadonlyArray<readonly [action: string, why: string]> = [
  [
    'Microsoft.Authorization/roleAssignments/write',
    'can grant roles, itself included (Owner / User Access Administrator)',
  ],
  [
    'Microsoft.Storage/storageAccounts/listKeys/action',
    'can read the account key: shared-key access that bypasses Entra ID and its audit',
  ],
  ['Microsoft.Storage/storageAccounts/write', 'can change the account (network rules, TLS minimum, encryption)'],
  [
    'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies/write',
    'can change the 7-year immutability policy of the data container',
  ],
];

const ROLE_FIX =
  'assign the identity only "Storage Blob Data Contributor" on the account (or the containers), and remove Owner, ' +
  'Contributor and User Access Administrator assignments (deploy/azure/main.bicep does exactly that)';

/** True when `pattern` (an ARM action with `*` wildcards, case-insensitive) covers `action`. */
export function actionMatches(pattern: string, action: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'))
      .join('.*')}$`,
    'i',
  );
  return re.test(action);
}

/** Whether the permissions allow `action` (any entry grants it and that entry's not-list does not take it away). */
function allows(perms: readonly ArmPermission[], action: string, data: boolean): boolean {
  return perms.some((p) => {
    const granted = (data ? p.dataActions : p.actions) ?? [];
    const denied = (data ? p.notDataActions : p.notActions) ?? [];
    return granted.some((g) => actionMatches(g, action)) && !denied.some((d) => actionMatches(d, action));
  });
}

/** Judges the identity's permissions: each needed data action missing, each excess management action held. */
export function judgeStoragePermissions(perms: readonly ArmPermission[]): StorageRoleFinding[] {
  const out: StorageRoleFinding[] = [];
  const missing = NEEDED_DATA_ACTIONS.filter(([a]) => !allows(perms, a, true));
  for (const [action, why] of missing)
    out.push({ status: 'missing', check: 'role', message: `${action} (${why})`, fix: ROLE_FIX });
  for (const [action, why] of EXCESS_ACTIONS)
    if (allows(perms, action, false))
      out.push({ status: 'excess', check: 'role', message: `${action}: ${why}`, fix: ROLE_FIX });
  if (out.length === 0)
    out.push({
      status: 'ok',
      check: 'role',
      message: 'the identity holds the blob data actions it needs and no management write, key or role access',
    });
  return out;
}

export interface StoragePermissionsRequest {
  /** `/subscriptions/…/resourceGroups/…/providers/Microsoft.Storage/storageAccounts/<account>`. */
  readonly resourceId: string;
  /** A bearer token for Resource Manager (`https://management.azure.com/.default`). */
  readonly token: string;
  /** Resource Manager's endpoint; default `https://management.azure.com` (another for sovereign clouds). */
  readonly armEndpoint?: string;
  readonly timeoutMs?: number;
}

/** Lists the caller's permissions on the account (following `nextLink` pages). */
export async function listStoragePermissions(req: StoragePermissionsRequest): Promise<ArmPermission[]> {
  const base = (req.armEndpoint ?? 'https://management.azure.com').replace(/\/+$/, '');
  let url: string | undefined =
    `${base}${req.resourceId}/providers/Microsoft.Authorization/permissions?api-version=2022-04-01`;
  const out: ArmPermission[] = [];
  for (let page = 0; url && page < 20; page++) {
    const res = await fetch(url, {
      headers: { authorization: `Bearer ${req.token}` },
      signal: AbortSignal.timeout(req.timeoutMs ?? 15_000),
    });
    if (!res.ok)
      throw new Error(
        `Azure Resource Manager refused to list the identity's permissions on ${req.resourceId} (HTTP ${res.status}): ` +
          'check sink.resourceId, and that the identity can read its own permissions there (any role on the account can)',
      );
    const body = (await res.json()) as { value?: ArmPermission[]; nextLink?: string };
    out.push(...(body.value ?? []));
    url = body.nextLink;
  }
  return out;
}

/** A source of Resource Manager tokens (an `@azure/identity` credential, or a fixed token in tests). */
export interface ArmTokenSource {
  getToken(scope: string): Promise<{ token: string } | null>;
}

/** The identity's role on the account, judged; `credential` defaults to the sink's `DefaultAzureCredential`. */
export async function checkStorageRole(
  resourceId: string,
  credential?: ArmTokenSource,
  armEndpoint?: string,
): Promise<StorageRoleFinding[]> {
  const source: ArmTokenSource = credential ?? new (await import('@azure/identity')).DefaultAzureCredential();
  const base = (armEndpoint ?? 'https://management.azure.com').replace(/\/+$/, '');
  const token = await source.getToken(`${base}/.default`);
  if (!token)
    throw new Error(
      'no Resource Manager token for the sink identity: sign in (az login) or run as the worker identity',
    );
  const perms = await listStoragePermissions({
    resourceId,
    token: token.token,
    ...(armEndpoint ? { armEndpoint } : {}),
  });
  return judgeStoragePermissions(perms);
}
