/**
 * Where a JSON text stops parsing, without the parser's own message: that message quotes the
 * text around the error, which in a config file may be a password written without quotes.
 */
export function jsonSyntaxProblem(text: string, err: unknown): string {
  const at = /position (\d+)/.exec((err as Error).message)?.[1];
  if (at === undefined) return 'it is not valid JSON (check quotes, commas and braces)';
  const before = text.slice(0, Number(at));
  const line = before.split('\n').length;
  const column = Number(at) - before.lastIndexOf('\n');
  return `it is not valid JSON at line ${line}, column ${column} (check quotes, commas and braces there)`;
}
