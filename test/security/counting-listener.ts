import net from 'node:net';

/**
 * A loopback TCP listener that counts the connections it gets. With `relayTo` it relays each one
 * to that port (a real server behind it); without, it closes them at once (a trap that must never
 * be reached).
 */
export class CountingListener {
  connections = 0;
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly server: net.Server) {}

  static async start(relayTo?: number): Promise<CountingListener> {
    const server = net.createServer();
    const l = new CountingListener(server);
    server.on('connection', (s) => l.accept(s, relayTo));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return l;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private accept(socket: net.Socket, relayTo: number | undefined): void {
    this.connections++;
    this.track(socket);
    socket.on('error', () => socket.destroy());
    if (relayTo === undefined) return void socket.destroy();
    const real = net.connect({ host: '127.0.0.1', port: relayTo });
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
