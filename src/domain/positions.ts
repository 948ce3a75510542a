/** Positions as the lake stores them: the one normalisation every layer shares. */

/**
 * A source position as the lake stores it (`_pos`): lowercase, fixed width, `.` removed — string order is
 * still source order, because every strategy's fields are fixed width (src/source/positions.ts).
 */
export function lakePosition(pos: string): string {
  return pos.toLowerCase().replace(/[^0-9a-f]/g, '');
}
