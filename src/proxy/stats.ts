/** Counters the proxy keeps for status output and metrics. */
export class ProxyStats {
  connectionsTotal = 0;
  protocolErrors = 0;
  heldCommits = 0;
  readonly statements = new Map<string, number>();

  count(kind: string): void {
    this.statements.set(kind, (this.statements.get(kind) ?? 0) + 1);
  }
}
