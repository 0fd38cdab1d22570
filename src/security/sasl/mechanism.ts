// The server side of a SASL mechanism (Kafka's SaslServer): evaluates the client's tokens one at
// a time and answers each with a challenge (or the final server message), until it is complete.

/**
 * Authentication failed. `clientMessage` is what the client is told (SaslAuthenticate's error
 * message); Kafka tells only "invalid credentials" for most failures so that a client cannot learn
 * whether a user exists. `reason` is for the broker's log (never a password or token).
 */
export class SaslAuthenticationError extends Error {
  constructor(
    readonly reason: string,
    readonly clientMessage?: string,
  ) {
    super(reason);
  }
}

export interface SaslServerMechanism {
  readonly mechanism: string;
  /** Evaluates one client token; resolves to the token to send back. Throws SaslAuthenticationError. */
  evaluate(token: Buffer): Buffer | Promise<Buffer>;
  readonly complete: boolean;
  /** The authenticated user name (valid once complete). */
  readonly principal: string;
  /** When the credential stops being valid (ms on the broker's clock), if it expires (OAUTHBEARER). */
  readonly credentialExpiresAtMs?: number;
  /** Why the last token was refused with an error challenge (OAUTHBEARER), for the log. */
  readonly rejection?: string;
}

/** The mechanisms Brook implements. GSSAPI (Kerberos) is not among them. */
export const SUPPORTED_SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'] as const;
export type SaslMechanismName = (typeof SUPPORTED_SASL_MECHANISMS)[number];

export function isSupportedMechanism(name: string): name is SaslMechanismName {
  return (SUPPORTED_SASL_MECHANISMS as readonly string[]).includes(name);
}
