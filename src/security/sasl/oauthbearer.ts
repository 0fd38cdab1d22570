// SASL/OAUTHBEARER (RFC 7628) with unsecured JWTs, as Kafka's default server callback handler
// (OAuthBearerUnsecuredValidatorCallbackHandler): meant for development, it trusts any token whose
// header says "alg":"none". The client's message is
//   n,[a=authzid],<0x01>auth=Bearer <token><0x01>[key=value<0x01>...]<0x01>
// The token is base64url(header).base64url(claims). with an empty signature; its principal claim
// ("sub" unless unsecuredValidatorPrincipalClaimName says otherwise) names the user, "exp" (seconds)
// must lie ahead (within unsecuredValidatorAllowableClockSkewMs), "iat" if present must not lie
// ahead, and the scope claim must hold every unsecuredValidatorRequiredScope. The session ends at
// "exp" (KIP-368: the client re-authenticates before).
//
// A bad token is answered, as RFC 7628 asks, with an error challenge {"status":"invalid_token"};
// the client acknowledges it with a lone 0x01 and the authentication then fails with that message.

import { SaslAuthenticationError, type SaslServerMechanism } from './mechanism.js';

export interface OAuthBearerOptions {
  principalClaim?: string;
  scopeClaim?: string;
  requiredScopes?: readonly string[];
  clockSkewMs?: number;
}

const KVSEP = '\u0001';
/** RFC 6750 b64token (a JWS in compact form fits it). */
const TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

function base64urlJson(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw new Error(`the token's ${what} is not base64url-encoded JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`the token's ${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

/** The unsecured token's principal and expiry, or throws with why it is not acceptable. */
export function validateUnsecuredToken(token: string, nowMs: number, o: OAuthBearerOptions = {}): { principal: string; expiresAtMs: number; scope: string[] } {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[2] !== '') throw new Error('not an unsecured JWS (header.claims. with an empty signature)');
  const header = base64urlJson(parts[0]!, 'header');
  if (header['alg'] !== 'none') throw new Error('the token header\'s alg is not "none"');
  const claims = base64urlJson(parts[1]!, 'claims');
  const skew = o.clockSkewMs ?? 0;
  const principalClaim = o.principalClaim ?? 'sub';
  const principal = claims[principalClaim];
  if (typeof principal !== 'string' || principal.trim() === '') throw new Error(`the token has no ${principalClaim} claim`);
  const exp = claims['exp'];
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw new Error('the token has no numeric exp claim');
  const expiresAtMs = Math.round(exp * 1000);
  if (nowMs - skew >= expiresAtMs) throw new Error('the token has expired');
  const iat = claims['iat'];
  if (iat !== undefined) {
    if (typeof iat !== 'number' || !Number.isFinite(iat)) throw new Error('the token\'s iat claim is not a number');
    if (Math.round(iat * 1000) > nowMs + skew) throw new Error('the token was issued in the future');
    if (Math.round(iat * 1000) > expiresAtMs) throw new Error('the token expires before it was issued');
  }
  const rawScope = claims[o.scopeClaim ?? 'scope'];
  const scope = typeof rawScope === 'string' ? rawScope.split(' ').filter((s) => s !== '') : Array.isArray(rawScope) ? rawScope.filter((s): s is string => typeof s === 'string') : [];
  for (const required of o.requiredScopes ?? []) {
    if (!scope.includes(required)) throw new Error(`the token lacks the required scope ${required}`);
  }
  return { principal: principal.trim(), expiresAtMs, scope };
}

export class OAuthBearerServer implements SaslServerMechanism {
  readonly mechanism = 'OAUTHBEARER';
  complete = false;
  principal = '';
  credentialExpiresAtMs?: number;
  rejection?: string;
  /** The error challenge sent, awaiting the client's 0x01. */
  private errorSent: string | null = null;

  constructor(
    private readonly now: () => number,
    private readonly options: OAuthBearerOptions = {},
  ) {}

  evaluate(token: Buffer): Buffer {
    if (this.complete) throw new SaslAuthenticationError('OAUTHBEARER: a token after completion');
    const text = token.toString('utf8');
    if (this.errorSent !== null) {
      if (text === KVSEP) throw new SaslAuthenticationError(`OAUTHBEARER: invalid token: ${this.rejection}`, this.errorSent);
      throw new SaslAuthenticationError('OAUTHBEARER: the client did not acknowledge the error challenge');
    }
    const m = /^n,(?:a=([^,]*))?,\u0001(.*)\u0001$/s.exec(text);
    if (!m) throw new SaslAuthenticationError('OAUTHBEARER: invalid client initial response');
    const authzid = m[1];
    const pairs = new Map<string, string>();
    for (const kv of m[2]!.split(KVSEP)) {
      if (kv === '') continue;
      const eq = kv.indexOf('=');
      if (eq <= 0) throw new SaslAuthenticationError('OAUTHBEARER: invalid key-value pair in the client initial response');
      pairs.set(kv.slice(0, eq), kv.slice(eq + 1));
    }
    const auth = /^Bearer (.+)$/i.exec(pairs.get('auth') ?? '');
    const jwt = auth?.[1]?.trim();
    if (jwt === undefined || !TOKEN.test(jwt)) {
      throw new SaslAuthenticationError('OAUTHBEARER: no bearer token in the client initial response');
    }
    let valid: ReturnType<typeof validateUnsecuredToken>;
    try {
      valid = validateUnsecuredToken(jwt, this.now(), this.options);
    } catch (err) {
      this.rejection = (err as Error).message;
      // RFC 7628 section 3.2.2: an error challenge; the client answers 0x01.
      this.errorSent = JSON.stringify({ status: 'invalid_token' });
      return Buffer.from(this.errorSent, 'utf8');
    }
    if (authzid !== undefined && authzid !== '' && authzid !== valid.principal) {
      throw new SaslAuthenticationError('OAUTHBEARER: authorization id differs from the token\'s principal', 'Authentication failed: Client requested an authorization id that is different from the principal');
    }
    this.principal = valid.principal;
    this.credentialExpiresAtMs = valid.expiresAtMs;
    this.complete = true;
    return Buffer.alloc(0);
  }
}
