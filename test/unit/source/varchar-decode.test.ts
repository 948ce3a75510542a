import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { installFastVarcharDecode } from '../../../src/source/varchar-decode.js';

type Decode = (buf: Buffer | string, encoding: string, options?: unknown) => string;
const iconv = createRequire(createRequire(import.meta.url).resolve('tedious'))('iconv-lite') as { decode: Decode };

test('the driver decodes every (var)char value as iconv-lite did, for every code page SQL Server collations use', () => {
  const original = iconv.decode.bind(iconv);
  const fast = installFastVarcharDecode(iconv);
  assert.notEqual(iconv.decode, original);
  // The code pages of the usual collations take the shortcut.
  for (const cp of ['CP1252', 'CP1250', 'utf8', 'utf-8']) assert.ok(fast.has(cp), cp);
  const samples = [
    Buffer.from(''),
    Buffer.from('E11.9'),
    Buffer.from('plain ASCII with \\ and ~ and \x7f\x00'),
    Buffer.from([0x4d, 0xe9, 0x64, 0x69, 0x63, 0x61, 0x6c]), // 'Médical' in CP1252: not ASCII
    Buffer.from('naïve ✓', 'utf8'),
    Buffer.from([0xef, 0xbb, 0xbf, 0x41]), // a UTF-8 byte-order mark: stripped by iconv-lite, as before
    Buffer.from([0x82, 0xa0, 0x41]), // Shift-JIS bytes
    Buffer.from('abcdefghij').subarray(3, 7), // a view of a larger buffer, as tedious's are
  ];
  for (const cp of [...fast, 'CP1252', 'CP932', 'utf8'])
    for (const buf of samples) assert.equal(iconv.decode(buf, cp), original(buf, cp), `${cp} ${buf.toString('hex')}`);
  // Installing again changes nothing.
  const installed = iconv.decode;
  installFastVarcharDecode(iconv);
  assert.equal(iconv.decode, installed);
});
