// SASL/SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677), server side, as Kafka's
// ScramSaslServer: client-first "n,[a=authzid],n=user,r=cnonce", server-first
// "r=cnonce+snonce,s=salt,i=iterations", client-final "c=<gs2 header>,r=nonce,p=proof", server-final
// "v=signature". No channel binding ("y" or "p=" are refused), no delegation tokens (the
// tokenauth extension is refused). Unknown users and bad proofs get the same answer.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { hash, hmac, SCRAM_MIN_ITERATIONS, type ScramCredentials, type ScramMechanism, type StoredScramCredential } from '../scram.js';
import { SaslAuthenticationError, type SaslServerMechanism } from './mechanism.js';

/** RFC 5802 saslname: "=2C" is ",", "=3D" is "="; any other "=" is invalid. */
export function decodeSaslName(name: string): string | null {
  if (/=(?!2C|3D)/.test(name)) return null;
  return name.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

const CLIENT_FIRST = /^n,(?:a=([^,]*))?,n=([^,]*),r=([^,]+)((?:,[^,]*)*)$/;
const CLIENT_FINAL = /^c=([^,]*),r=([^,]+)((?:,[^,]*)*),p=([^,]+)$/;

export class ScramServer implements SaslServerMechanism {
  complete = false;
  principal = '';
  private state: 'first' | 'final' | 'done' = 'first';
  private gs2Header = '';
  private clientFirstBare = '';
  private serverFirst = '';
  private nonce = '';
  private user = '';
  private credential: StoredScramCredential | undefined;

  constructor(
    readonly mechanism: ScramMechanism,
    private readonly credentials: Pick<ScramCredentials, 'get'>,
  ) {}

  evaluate(token: Buffer): Buffer {
    const text = token.toString('utf8');
    if (this.state === 'first') return this.first(text);
    if (this.state === 'final') return this.final(text);
    throw new SaslAuthenticationError('SCRAM: a token after completion');
  }

  private first(text: string): Buffer {
    const m = CLIENT_FIRST.exec(text);
    if (!m) throw new SaslAuthenticationError('SCRAM: invalid client-first message (channel binding is not supported)');
    const [, authzid, saslName, cnonce, extensions] = m as unknown as [string, string | undefined, string, string, string];
    const user = decodeSaslName(saslName);
    if (user === null || user === '') throw new SaslAuthenticationError('SCRAM: invalid user name');
    if (authzid !== undefined && authzid !== '' && decodeSaslName(authzid) !== user) {
      throw new SaslAuthenticationError('SCRAM: authorization id differs from the user name', 'Authentication failed: Client requested an authorization id that is different from username');
    }
    if (/(^|,)tokenauth=true(,|$)/i.test(extensions)) throw new SaslAuthenticationError('SCRAM: delegation tokens are not supported');
    const cred = this.credentials.get(user, this.mechanism);
    if (cred === undefined) throw new SaslAuthenticationError(`SCRAM: unknown user ${user}`);
    if (cred.iterations < SCRAM_MIN_ITERATIONS) throw new SaslAuthenticationError(`SCRAM: credential of ${user} has too few iterations`);
    this.user = user;
    this.credential = cred;
    this.gs2Header = text.slice(0, text.indexOf(',', text.indexOf(',') + 1) + 1);
    this.clientFirstBare = text.slice(this.gs2Header.length);
    // Alphanumeric, as Kafka's.
    this.nonce = cnonce + randomBytes(20).toString('hex');
    this.serverFirst = `r=${this.nonce},s=${cred.salt},i=${cred.iterations}`;
    this.state = 'final';
    return Buffer.from(this.serverFirst, 'utf8');
  }

  private final(text: string): Buffer {
    const m = CLIENT_FINAL.exec(text);
    if (!m) throw new SaslAuthenticationError('SCRAM: invalid client-final message');
    const [, channel, nonce, , proofB64] = m as unknown as [string, string, string, string, string];
    // Kafka checks that the nonce ends with the server's (librdkafka 2.0 sends its own nonce
    // again in front of it); the proof covers the message as sent either way.
    if (!nonce.endsWith(this.nonce)) throw new SaslAuthenticationError('SCRAM: invalid nonce in the client-final message');
    if (Buffer.from(channel, 'base64').toString('utf8') !== this.gs2Header) throw new SaslAuthenticationError('SCRAM: channel binding does not match the client-first message');
    const cred = this.credential!;
    const withoutProof = text.slice(0, text.lastIndexOf(',p='));
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const storedKey = Buffer.from(cred.storedKey, 'base64');
    const signature = hmac(this.mechanism, storedKey, authMessage);
    const proof = Buffer.from(proofB64, 'base64');
    if (proof.length !== signature.length) throw new SaslAuthenticationError(`SCRAM: invalid proof for user ${this.user}`);
    const clientKey = Buffer.alloc(proof.length);
    for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i]! ^ signature[i]!;
    const computed = hash(this.mechanism, clientKey);
    if (computed.length !== storedKey.length || !timingSafeEqual(computed, storedKey)) throw new SaslAuthenticationError(`SCRAM: invalid proof for user ${this.user}`);
    const serverSignature = hmac(this.mechanism, Buffer.from(cred.serverKey, 'base64'), authMessage);
    this.state = 'done';
    this.principal = this.user;
    this.complete = true;
    return Buffer.from(`v=${serverSignature.toString('base64')}`, 'utf8');
  }
}
