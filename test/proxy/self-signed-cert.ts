import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary } from '../harness/require-binaries.js';

export interface CertFiles {
  cert: string;
  key: string;
  remove(): void;
}

/** A throwaway self-signed certificate for CN=localhost, valid one day. */
export function selfSignedCert(): CertFiles {
  const dir = mkdtempSync(join(tmpdir(), 'metamorph-tls-'));
  const cert = join(dir, 'c.pem');
  const key = join(dir, 'k.pem');
  execFileSync(requireBinary('openssl'), [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', key, '-out', cert,
  ], { stdio: 'ignore' });
  return { cert, key, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
