import assert from 'node:assert/strict';
import { test } from 'node:test';
import { permissionErrorOf } from '../../../src/source/permissions.js';
import { PrerequisiteError } from '../../../src/source/errors.js';
import { failureTypeOf } from '../../../src/activities/failures.js';
import { FailureType } from '../../../src/domain/failures.js';

const who = { user: 'tm_ext', login: 'tm_ext_login' };

test('permission failures name the object and the statement that grants what is missing; never transient', () => {
  const cases: [number, string, RegExp][] = [
    [
      229,
      "The SELECT permission was denied on the object 'Claims', database 'Claims', schema 'dbo'.",
      /fix: GRANT SELECT ON \[dbo\]\.\[Claims\] TO \[tm_ext\];/,
    ],
    [
      229,
      "The VIEW CHANGE TRACKING permission was denied on the object 'Providers', database 'Claims', schema 'dbo'.",
      /fix: GRANT VIEW CHANGE TRACKING ON \[dbo\]\.\[Providers\] TO \[tm_ext\];/,
    ],
    [
      230,
      "The SELECT permission was denied on the column 'Ssn' of the object 'Members', database 'Claims', schema 'dbo'.",
      /fix: GRANT SELECT ON \[dbo\]\.\[Members\] \(\[Ssn\]\) TO \[tm_ext\];/,
    ],
    [
      300,
      "VIEW DATABASE STATE permission was denied on object 'Claims', database 'Claims'.",
      /fix: USE \[Claims\]; GRANT VIEW DATABASE STATE TO \[tm_ext\];/,
    ],
    [
      300,
      "VIEW SERVER STATE permission was denied on object 'server', database 'master'.",
      /fix: USE \[master\]; GRANT VIEW SERVER STATE TO \[tm_ext_login\];/,
    ],
    [
      262,
      "VIEW DATABASE STATE permission denied in database 'Claims'.",
      /fix: USE \[Claims\]; GRANT VIEW DATABASE STATE TO \[tm_ext\];/,
    ],
    [
      916,
      'The server principal "tm_ext_login" is not able to access the database "Claims" under the current security context.',
      /fix: USE \[Claims\]; CREATE USER \[tm_ext_login\] FOR LOGIN \[tm_ext_login\];/,
    ],
  ];
  for (const [n, text, fix] of cases) {
    const e = permissionErrorOf('op', n, text, who);
    assert.ok(e instanceof PrerequisiteError, `${n}`);
    assert.match(e.message, fix);
    assert.equal(e.retryable, false);
    assert.equal(failureTypeOf(e), FailureType.Prerequisite);
  }
  // Not a permission error: left to the transient/permanent classification.
  assert.equal(permissionErrorOf('op', 1205, 'deadlock', who), undefined);
  // 297 names no object: still a prerequisite failure, saying which query and which user.
  const e297 = permissionErrorOf('cdc.lag', 297, 'The user does not have permission to perform this action.', who);
  assert.match(e297?.message ?? '', /database user \[tm_ext\], query 'cdc\.lag'/);
});
