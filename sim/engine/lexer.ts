/**
 * T-SQL tokenizer. Identifiers keep their spelling (the binder compares them case-insensitively, as the
 * default collation does); `[x]` and `"x"` (QUOTED_IDENTIFIER ON, tedious's default) are quoted identifiers.
 */
import { sqlError } from './errors.js';

export type TokenKind =
  'ident' | 'qident' | 'string' | 'nstring' | 'number' | 'binary' | 'variable' | 'global' | 'op' | 'eof';

export interface Token {
  kind: TokenKind;
  /** ident: as written; qident: unquoted name; string/nstring: unescaped text; number/binary: as written; op: the operator. */
  text: string;
  /** Offset in the batch text, for error positions and source slices. */
  pos: number;
  /** Line number (1-based). */
  line: number;
  /**
   * ident: the text in upper case, computed once here: the parser tests most identifiers against several keywords
   * (`OR`, `AND`, `IS`, `IN`, … after every operand), and upper-cased the text at each test.
   */
  up?: string;
}

const OPS3 = ['!<>'];
const OPS2 = ['<>', '!=', '<=', '>=', '!<', '!>', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '::'];
const OPS1 = '()[],.;=<>+-*/%&|^~!';

export function tokenize(sql: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  const n = sql.length;
  while (i < n) {
    const c = sql[i] ?? '';
    if (c === '\n') {
      line++;
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v' || c === '\u00a0' || c === '\ufeff') {
      i++;
      continue;
    }
    if (c === '-' && sql[i + 1] === '-') {
      while (i < n && sql[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      // Block comments nest in T-SQL.
      let depth = 0;
      while (i < n) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          depth--;
          i += 2;
          if (depth === 0) break;
        } else {
          if (sql[i] === '\n') line++;
          i++;
        }
      }
      if (depth > 0) throw sqlError(113);
      continue;
    }
    const start = i;
    if ((c === 'N' || c === 'n') && sql[i + 1] === "'") {
      i++;
      const text = readQuoted(sql, i, "'");
      line += countNewlines(sql, i, text.end);
      i = text.end;
      out.push({ kind: 'nstring', text: text.value, pos: start, line });
      continue;
    }
    if (c === "'") {
      const text = readQuoted(sql, i, "'");
      line += countNewlines(sql, i, text.end);
      i = text.end;
      out.push({ kind: 'string', text: text.value, pos: start, line });
      continue;
    }
    if (c === '[') {
      const text = readQuoted(sql, i, ']');
      i = text.end;
      out.push({ kind: 'qident', text: text.value, pos: start, line });
      continue;
    }
    if (c === '"') {
      const text = readQuoted(sql, i, '"');
      i = text.end;
      out.push({ kind: 'qident', text: text.value, pos: start, line });
      continue;
    }
    if (c === '0' && (sql[i + 1] === 'x' || sql[i + 1] === 'X')) {
      i += 2;
      while (i < n && isHexDigit(sql.charCodeAt(i))) i++;
      out.push({ kind: 'binary', text: sql.slice(start, i), pos: start, line });
      continue;
    }
    if (isDigit(sql.charCodeAt(i)) || (c === '.' && isDigit(sql.charCodeAt(i + 1)))) {
      while (i < n && isDigit(sql.charCodeAt(i))) i++;
      if (sql[i] === '.') {
        i++;
        while (i < n && isDigit(sql.charCodeAt(i))) i++;
      }
      if ((sql[i] === 'e' || sql[i] === 'E') && /[0-9+-]/.test(sql[i + 1] ?? '')) {
        i++;
        if (sql[i] === '+' || sql[i] === '-') i++;
        while (i < n && isDigit(sql.charCodeAt(i))) i++;
      }
      out.push({ kind: 'number', text: sql.slice(start, i), pos: start, line });
      continue;
    }
    if (c === '@') {
      const isGlobal = sql[i + 1] === '@';
      i += isGlobal ? 2 : 1;
      while (i < n && isIdentCode(sql.charCodeAt(i))) i++;
      out.push({ kind: isGlobal ? 'global' : 'variable', text: sql.slice(start, i), pos: start, line });
      continue;
    }
    if (isIdentStartCode(sql.charCodeAt(i))) {
      while (i < n && isIdentCode(sql.charCodeAt(i))) i++;
      const text = sql.slice(start, i);
      out.push({ kind: 'ident', text, pos: start, line, up: text.toUpperCase() });
      continue;
    }
    // The punctuation of VALUES lists and calls, which begins no two-character operator: no slices to test.
    if (c === ',' || c === '(' || c === ')' || c === '.' || c === ';') {
      out.push({ kind: 'op', text: c, pos: start, line });
      i++;
      continue;
    }
    const three = sql.slice(i, i + 3);
    const two = sql.slice(i, i + 2);
    if (OPS3.includes(three)) {
      out.push({ kind: 'op', text: three, pos: start, line });
      i += 3;
      continue;
    }
    if (OPS2.includes(two)) {
      out.push({ kind: 'op', text: two, pos: start, line });
      i += 2;
      continue;
    }
    if (OPS1.includes(c)) {
      out.push({ kind: 'op', text: c, pos: start, line });
      i++;
      continue;
    }
    throw sqlError(102, c);
  }
  out.push({ kind: 'eof', text: '', pos: n, line });
  return out;
}

// Character classes by UTF-16 code unit (NaN past the end is in none): the tokenizer tests every character of
// every batch, and a regular expression per character was its largest cost.

/** [0-9] */
function isDigit(u: number): boolean {
  return u >= 48 && u <= 57;
}

/** [0-9a-fA-F] */
function isHexDigit(u: number): boolean {
  return isDigit(u) || (u >= 65 && u <= 70) || (u >= 97 && u <= 102);
}

/** [A-Za-z_#\u0080-\uffff] */
function isIdentStartCode(u: number): boolean {
  return (u >= 65 && u <= 90) || (u >= 97 && u <= 122) || u === 95 || u === 35 || u >= 0x80;
}

/** [A-Za-z0-9_@#$\u0080-\uffff] */
function isIdentCode(u: number): boolean {
  return isIdentStartCode(u) || isDigit(u) || u === 64 || u === 36;
}

function countNewlines(s: string, from: number, to: number): number {
  let k = 0;
  for (let j = from; j < to; j++) if (s.charCodeAt(j) === 10) k++;
  return k;
}

/** Reads a quoted run starting at the opening quote; a doubled closing quote is an escaped quote. */
function readQuoted(sql: string, at: number, close: string): { value: string; end: number } {
  let i = at + 1;
  let value = '';
  for (;;) {
    const j = sql.indexOf(close, i);
    if (j < 0) {
      if (close === "'") throw sqlError(105, sql.slice(at + 1, at + 40));
      throw sqlError(105, sql.slice(at + 1, at + 40));
    }
    value += sql.slice(i, j);
    if (sql[j + 1] === close) {
      value += close;
      i = j + 2;
      continue;
    }
    return { value, end: j + 1 };
  }
}
