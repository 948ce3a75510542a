/**
 * The failure converter of Tidemark's client, workers and workflow bundle (loaded by path, as Temporal's
 * sandbox requires): a failure's message and stack trace travel as an encoded attribute, which the payload
 * codec seals when payload keys are configured. Without keys the attribute is plain JSON, and every SDK and the
 * Web UI read it as before.
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
