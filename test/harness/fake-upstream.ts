import net from 'node:net';

/** What a scripted upstream connection does with the proxy's socket. */
export type UpstreamScript = (socket: net.Socket) => void;

/**
 * A TCP server to put between the proxy and a real MariaDB: connections are relayed to the real
 * server unless a script was queued with next(), in which case that connection is played by the
 * script instead (a misbehaving or silent server). Scripts are taken in order, one per connection.
 * Without `relayPort` an unscripted connection is closed at once: a trap that counts who reached it.
 */
export class FakeUpstream {
  /** Connections accepted so far. */
  connections = 0;
  private readonly scripts: UpstreamScript[] = [];
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly server: net.Server, private readonly relayPort: number | undefined) {}

  static async start(relayPort?: number): Promise<FakeUpstream> {
    const server = net.createServer();
    const fake = new FakeUpstream(server, relayPort);
    server.on('connection', (s) => fake.accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return fake;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** The next connection the proxy opens runs `script`. */
  next(script: UpstreamScript): void {
    this.scripts.push(script);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private accept(socket: net.Socket): void {
    this.connections++;
    this.track(socket);
    socket.on('error', () => socket.destroy());
    const script = this.scripts.shift();
    if (script) return script(socket);
    if (this.relayPort === undefined) return void socket.destroy();
    const real = net.connect({ host: '127.0.0.1', port: this.relayPort });
    this.track(real);
    real.on('error', () => socket.destroy());
    socket.on('close', () => real.destroy());
    real.on('close', () => socket.destroy());
    socket.pipe(real);
    real.pipe(socket);
  }

  private track(s: net.Socket): void {
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
  }
}
