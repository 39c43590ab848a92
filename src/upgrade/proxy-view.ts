import { adminRequest } from '../admin/admin-client.js';
import { splitHostPort, type HostPort } from '../config/host-port.js';
import { UpgradeError } from './upgrade-errors.js';


/** What the orchestrator reads from the proxy's admin socket (one request per connection). */
export class ProxyView {
  constructor(private readonly adminSocket: string) {}

  async status(): Promise<Record<string, unknown>> {
    try {
      return await adminRequest(this.adminSocket, 'status', 10_000);
    } catch (err) {
      throw new UpgradeError('UPGRADE_PROXY_FAILED', (err as Error).message, { cause: err });
    }
  }

  /** Where the proxy sends queries now, or null when its status does not say. */
  async upstream(): Promise<HostPort | null> {
    const up = (await this.status()).upstream;
    return typeof up === 'string' ? splitHostPort(up) : null;
  }

  /**
   * Whether a flip to `target` happened after `afterSeq` (identity: the proxy's upstream is the
   * target and its last flip is newer). A translated flip ends with the old side rejecting writes.
   */
  async flippedTo(target: HostPort, afterSeq: number, identity: boolean): Promise<boolean> {
    const status = await this.status();
    if (!identity) {
      const gate = (status.gate as { state?: unknown } | undefined)?.state;
      return typeof gate === 'string' && gate.includes('reject');
    }
    const flip = status.flip as { seq?: unknown } | null | undefined;
    return status.upstream === `${target.host}:${target.port}` && typeof flip?.seq === 'number' && flip.seq > afterSeq;
  }

  /** The journal seq of the proxy's last flip (its head when it recorded none, e.g. a hook flip). */
  async flipSeq(): Promise<number> {
    const flip = (await this.status()).flip as { seq?: unknown } | null | undefined;
    if (typeof flip?.seq === 'number') return flip.seq;
    const position = await adminRequest(this.adminSocket, 'position', 10_000);
    return Number(position.headSeq);
  }
}
