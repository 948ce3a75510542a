/** Test helper: bytes from spaced hex written out by hand ("fd 11 00 …"). */
export function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}
