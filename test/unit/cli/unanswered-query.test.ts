/**
 * Which query failures mean "no worker answered" (status then shows what Temporal records and exits 3), and which
 * are other errors. The gRPC errors are built as the Temporal client surfaces them (a `code` on the error or its
 * cause), since a loaded server's choice between DEADLINE_EXCEEDED and CANCELLED cannot be provoked at will.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isUnansweredQuery } from '../../../src/cli/support/operator-context.js';

const grpc = (code: number, message: string) => Object.assign(new Error(message), { code });

test('our deadline passing, or the server abandoning the call as it nears, is an unanswered query', () => {
  assert.ok(isUnansweredQuery(grpc(4, '4 DEADLINE_EXCEEDED: Deadline exceeded')));
  assert.ok(isUnansweredQuery(grpc(1, '1 CANCELLED: Call cancelled')));
  assert.ok(isUnansweredQuery(new Error('query failed', { cause: grpc(1, '1 CANCELLED: context canceled') })));
  assert.ok(isUnansweredQuery(grpc(9, '9 FAILED_PRECONDITION: no poller seen for task queue recently')));
});

test('other failures are not', () => {
  assert.ok(!isUnansweredQuery(grpc(5, '5 NOT_FOUND: workflow not found')));
  assert.ok(!isUnansweredQuery(grpc(9, '9 FAILED_PRECONDITION: namespace is not active')));
  assert.ok(!isUnansweredQuery(new Error('the query handler threw: table was cancelled by the operator')));
});
