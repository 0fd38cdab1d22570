// The client side of the SASL mechanisms Brook speaks (its CLI and broker-to-broker connections):
// each turns the server's challenges into the next token. PLAIN and OAUTHBEARER send one token;
// SCRAM (RFC 5802) sends two and checks the server's signature, so a broker that does not know
// the password cannot pass for one that does.

import { randomBytes } from 'node:crypto';
import { hash, hmac, saltPassword, type ScramMechanism } from '../scram.js';

export interface ClientSaslConfig {
  mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512' | 'OAUTHBEARER';
  username?: string;
  password?: string;
  /** OAUTHBEARER: the token (an unsecured one is made from `username` when absent). */
  token?: string;
}

export interface SaslClientMechanism {
  /** The next token given the server's last answer (null before the first). */
  next(challenge: Buffer | null): Promise<Buffer | null>;
}

/** RFC 5802 saslname. */
function encodeSaslName(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

/** An unsecured JWT (alg none) for `sub`, valid for an hour, as Kafka's unsecured login module makes. */
export function unsecuredToken(sub: string, nowMs = Date.now(), lifetimeMs = 3_600_000): string {
  const enc = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${enc({ alg: 'none' })}.${enc({ sub, iat: Math.floor(nowMs / 1000), exp: Math.floor((nowMs + lifetimeMs) / 1000) })}.`;
}

export function saslClient(cfg: ClientSaslConfig): SaslClientMechanism {
  const need = (v: string | undefined, what: string): string => {
    if (v === undefined || v === '') throw new Error(`SASL ${cfg.mechanism} needs a ${what}`);
    return v;
  };
  switch (cfg.mechanism) {
    case 'PLAIN': {
      const token = Buffer.from(`\u0000${need(cfg.username, 'username')}\u0000${need(cfg.password, 'password')}`, 'utf8');
      return { next: async (c) => (c === null ? token : null) };
    }
    case 'OAUTHBEARER': {
      const jwt = cfg.token ?? unsecuredToken(need(cfg.username, 'username or token'));
      return {
        next: async (c) => {
          if (c === null) return Buffer.from(`n,,\u0001auth=Bearer ${jwt}\u0001\u0001`, 'utf8');
          // An error challenge: acknowledge it; the server then fails the authentication.
          return c.length > 0 ? Buffer.from('\u0001') : null;
        },
      };
    }
    case 'SCRAM-SHA-256':
    case 'SCRAM-SHA-512':
      return new ScramClient(cfg.mechanism, need(cfg.username, 'username'), need(cfg.password, 'password'));
  }
}

export class ScramClient implements SaslClientMechanism {
  private readonly nonce = randomBytes(24).toString('base64');
  private readonly clientFirstBare: string;
  private expectedSignature: string | undefined;
  private done = false;

  constructor(
    private readonly mech: ScramMechanism,
    user: string,
    private readonly password: string,
  ) {
    this.clientFirstBare = `n=${encodeSaslName(user)},r=${this.nonce}`;
  }

  async next(challenge: Buffer | null): Promise<Buffer | null> {
    if (challenge === null) return Buffer.from(`n,,${this.clientFirstBare}`, 'utf8');
    if (this.expectedSignature === undefined) return this.final(challenge.toString('utf8'));
    const m = /^v=(.+)$/.exec(challenge.toString('utf8'));
    if (!m || m[1] !== this.expectedSignature) throw new Error('SCRAM: the server\'s signature is wrong (it does not know the credential)');
    this.done = true;
    return null;
  }

  private async final(serverFirst: string): Promise<Buffer> {
    const m = /^r=([^,]+),s=([^,]+),i=(\d+)(?:,.*)?$/.exec(serverFirst);
    if (!m || !m[1]!.startsWith(this.nonce)) throw new Error('SCRAM: invalid server-first message');
    const salted = await saltPassword(this.mech, this.password, Buffer.from(m[2]!, 'base64'), Number(m[3]));
    const clientKey = hmac(this.mech, salted, 'Client Key');
    const withoutProof = `c=biws,r=${m[1]}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const signature = hmac(this.mech, hash(this.mech, clientKey), authMessage);
    const proof = Buffer.alloc(clientKey.length);
    for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i]! ^ signature[i]!;
    this.expectedSignature = hmac(this.mech, hmac(this.mech, salted, 'Server Key'), authMessage).toString('base64');
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8');
  }

  get complete(): boolean {
    return this.done;
  }
}
