/** Paths into a config document, printed the way an operator reads them: `tables[2].capture.column`. */

/** One step into a document: a map key or a list index. */
export type PathSegment = string | number;

/** A path from the document root. */
export type ConfigPath = readonly PathSegment[];

/** Formats a path; the empty path (the whole document) prints as `(root)`. */
export function formatPath(path: ConfigPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out === '' ? '(root)' : out;
}

/** An issue before it is placed in the file: its path is still a list of segments. */
export interface RawIssue {
  readonly path: ConfigPath;
  readonly message: string;
  readonly fix: string;
}
