// SASL on a SASL_PLAINTEXT or SASL_SSL listener: one authenticator per connection, ahead of
// dispatch (Kafka's SaslServerAuthenticator). Every frame of the connection passes through it:
//
//   initial        ApiVersions (answered by the broker as usual) and SaslHandshake only; any
//                  other request closes the connection (Kafka: "Unexpected Kafka request of type
//                  X during SASL handshake"). An unknown mechanism is answered
//                  UNSUPPORTED_SASL_MECHANISM with the enabled ones, then the connection closes.
//   authenticate   after SaslHandshake v1: SaslAuthenticate requests carry the tokens; anything
//                  else closes the connection. After SaslHandshake v0 (kafka-python): the frames
//                  are the raw tokens and the answers raw size-prefixed tokens.
//   complete       requests go to the broker, with the user as the connection's principal.
//                  A SaslHandshake now starts a re-authentication (KIP-368) when the client used
//                  SaslAuthenticate v1+; the user must stay the same. A request arriving after the
//                  session expired (connections.max.reauth.ms, or an OAUTHBEARER token's exp)
//                  closes the connection; a re-authentication renews it.
//
// A failed authentication is answered SASL_AUTHENTICATION_FAILED (raw tokens: no answer) after
// connection.failed.authentication.delay.ms, then the connection closes; one info line names the
// remote address, mechanism and reason, never a password or a token. Frames before
// authentication may not exceed sasl.server.max.receive.size.

import { ErrorCode } from '../../protocol/errors.js';
import { API_VERSIONS_KEY, encodeResponseFrame, readHeaderTags, readRequestHeader, responseHeaderIsV1, type RequestHeader } from '../../protocol/framing.js';
import { Reader } from '../../protocol/primitives/reader.js';
import type { Writer } from '../../protocol/primitives/writer.js';
import { decodeSaslAuthenticateRequest, encodeSaslAuthenticateResponse, SaslAuthenticateApi } from '../../protocol/generated/36-sasl-authenticate.js';
import { decodeSaslHandshakeRequest, encodeSaslHandshakeResponse, SaslHandshakeApi } from '../../protocol/generated/17-sasl-handshake.js';
import type { Logger } from '../common/logger.js';
import type { ScramCredentials } from '../security/scram.js';
import { SaslAuthenticationError, type SaslMechanismName, type SaslServerMechanism } from '../security/sasl/mechanism.js';
import { OAuthBearerServer, type OAuthBearerOptions } from '../security/sasl/oauthbearer.js';
import { PlainServer } from '../security/sasl/plain.js';
import { ScramServer } from '../security/sasl/scram.js';
import type { ConnectionInfo, FrameGate, Outcome } from './connection.js';

/** A SASL listener's settings. */
export interface ListenerSasl {
  /** sasl.enabled.mechanisms, in the order the handshake lists them. */
  mechanisms: readonly SaslMechanismName[];
  /** PLAIN users from the listener's JAAS config (user_<name>="<password>"). */
  jaasUsers?: ReadonlyMap<string, string>;
  /** OAUTHBEARER's unsecured validator options. */
  oauthbearer?: OAuthBearerOptions;
}

/** What every authenticator of a listener shares. */
export interface SaslDeps {
  sasl: ListenerSasl;
  scram: Pick<ScramCredentials, 'get'>;
  /** The broker's clock (token expiry, session expiry). */
  now: () => number;
  /** connections.max.reauth.ms (0: sessions do not expire unless the credential does). */
  maxReauthMs: () => number;
  /** connection.failed.authentication.delay.ms. */
  failedDelayMs: () => number;
  /** sasl.server.max.receive.size. */
  maxReceiveBytes: () => number;
  logger: Logger;
}

/** The connection as the authenticator needs it. */
export interface AuthenticatedConnection {
  readonly id: number;
  readonly remote: string;
  setPrincipal(principal: string): void;
}

type State = 'initial' | 'authenticate' | 'evaluating' | 'complete' | 'failed';

const SASL_HANDSHAKE = SaslHandshakeApi.apiKey;
const SASL_AUTHENTICATE = SaslAuthenticateApi.apiKey;

export class SaslAuthenticator implements FrameGate {
  private state: State = 'initial';
  /** SaslHandshake v1+: tokens come in SaslAuthenticate requests; v0: raw. */
  private framed = true;
  private server: SaslServerMechanism | undefined;
  private mechanism: SaslMechanismName | undefined;
  private principal: string | undefined;
  /** The client sent SaslAuthenticate v1+ (KIP-368: it can re-authenticate). */
  private supportsReauth = false;
  private reauthenticating = false;
  /** When the session ends (broker clock, ms), or null if it does not. */
  private expiresAt: number | null = null;

  constructor(
    private readonly deps: SaslDeps,
    private readonly conn: AuthenticatedConnection,
  ) {}

  maxFrameBytes(normal: number): number {
    return this.state === 'complete' ? normal : Math.min(normal, this.deps.maxReceiveBytes());
  }

  intercept(frame: Buffer, _info: ConnectionInfo): Outcome | Promise<Outcome> | undefined {
    switch (this.state) {
      case 'complete':
        return this.whenComplete(frame);
      case 'initial':
        return this.initial(frame);
      case 'authenticate':
        return this.framed ? this.authenticateFramed(frame) : this.evaluate(frame, null);
      case 'evaluating':
        return this.close('a request arrived while a SASL token was being checked');
      case 'failed':
        return { close: true, reason: 'authentication failed' };
    }
  }

  private whenComplete(frame: Buffer): Outcome | Promise<Outcome> | undefined {
    const apiKey = frame.length >= 2 ? frame.readInt16BE(0) : -1;
    if (apiKey === SASL_HANDSHAKE && this.supportsReauth) {
      this.reauthenticating = true;
      return this.initial(frame);
    }
    if (this.expiresAt !== null && this.deps.now() >= this.expiresAt) {
      this.conn.setPrincipal('ANONYMOUS');
      this.state = 'failed';
      return this.close('the authentication session expired (connections.max.reauth.ms or the credential lifetime) without re-authentication', 'info');
    }
    return undefined;
  }

  private initial(frame: Buffer): Outcome | Promise<Outcome> | undefined {
    const r = new Reader(frame);
    const header = readRequestHeader(r);
    if (r.error !== undefined) return this.close('not a Kafka request before SASL authentication (GSSAPI without a handshake is not supported)');
    if (header.apiKey === API_VERSIONS_KEY && !this.reauthenticating) return undefined;
    if (header.apiKey !== SASL_HANDSHAKE) return this.close(`unexpected request (api key ${header.apiKey}) during the SASL handshake`);
    if (header.apiVersion < SaslHandshakeApi.minVersion || header.apiVersion > SaslHandshakeApi.maxVersion) {
      return this.close(`unsupported SaslHandshake version ${header.apiVersion}`);
    }
    const req = decodeSaslHandshakeRequest(r, header.apiVersion);
    if (r.error !== undefined) return this.close('malformed SaslHandshake request');
    const enabled = [...this.deps.sasl.mechanisms];
    const answer = (errorCode: number): Buffer => respond(header, false, (w) => encodeSaslHandshakeResponse(w, { errorCode, mechanisms: enabled }, header.apiVersion));
    const mech = enabled.find((m) => m === req.mechanism);
    if (mech === undefined) {
      return this.fail(answer(ErrorCode.UNSUPPORTED_SASL_MECHANISM), `unsupported SASL mechanism ${JSON.stringify(req.mechanism.slice(0, 64))}`);
    }
    if (this.reauthenticating && mech !== this.mechanism) {
      return this.fail(answer(ErrorCode.ILLEGAL_SASL_STATE), `re-authentication with ${mech} instead of ${this.mechanism}`);
    }
    this.framed = header.apiVersion >= 1;
    if (this.reauthenticating && !this.framed) return this.fail(answer(ErrorCode.ILLEGAL_SASL_STATE), 're-authentication needs SaslHandshake v1');
    this.mechanism = mech;
    this.server = this.createServer(mech);
    this.state = 'authenticate';
    return answer(ErrorCode.NONE);
  }

  private createServer(mech: SaslMechanismName): SaslServerMechanism {
    switch (mech) {
      case 'PLAIN':
        return new PlainServer({ jaasUsers: this.deps.sasl.jaasUsers ?? new Map(), scram: this.deps.scram });
      case 'SCRAM-SHA-256':
      case 'SCRAM-SHA-512':
        return new ScramServer(mech, this.deps.scram);
      case 'OAUTHBEARER':
        return new OAuthBearerServer(this.deps.now, this.deps.sasl.oauthbearer);
    }
  }

  private authenticateFramed(frame: Buffer): Outcome | Promise<Outcome> {
    const r = new Reader(frame);
    const header = readRequestHeader(r);
    if (r.error !== undefined) return this.close('malformed request during SASL authentication');
    if (header.apiKey !== SASL_AUTHENTICATE) return this.close(`unexpected request (api key ${header.apiKey}) during SASL authentication`);
    if (header.apiVersion < SaslAuthenticateApi.minVersion || header.apiVersion > SaslAuthenticateApi.maxVersion) {
      return this.close(`unsupported SaslAuthenticate version ${header.apiVersion}`);
    }
    const flexible = header.apiVersion >= SaslAuthenticateApi.flexibleMin;
    if (flexible) readHeaderTags(r);
    const req = decodeSaslAuthenticateRequest(r, header.apiVersion);
    if (r.error !== undefined) return this.close('malformed SaslAuthenticate request');
    if (header.apiVersion > 0) this.supportsReauth = true;
    return this.evaluate(req.authBytes, { header, flexible });
  }

  /** Evaluates one token; `framed` null: raw token mode (SaslHandshake v0). */
  private evaluate(token: Buffer, framed: { header: RequestHeader; flexible: boolean } | null): Outcome | Promise<Outcome> {
    const server = this.server!;
    const answer = (errorCode: number, errorMessage: string | null, authBytes: Buffer, sessionLifetimeMs: bigint): Buffer =>
      respond(framed!.header, framed!.flexible, (w) => encodeSaslAuthenticateResponse(w, { errorCode, errorMessage, authBytes, sessionLifetimeMs }, framed!.header.apiVersion));
    const failed = (err: unknown): Outcome | Promise<Outcome> => {
      const e = err instanceof SaslAuthenticationError ? err : new SaslAuthenticationError((err as Error)?.message ?? String(err));
      const message = e.clientMessage ?? `Authentication failed during ${this.reauthenticating ? 're-authentication' : 'authentication'} due to invalid credentials with SASL mechanism ${this.mechanism}`;
      return this.fail(framed ? answer(ErrorCode.SASL_AUTHENTICATION_FAILED, message, Buffer.alloc(0), 0n) : null, e.reason);
    };
    const done = (response: Buffer): Outcome | Promise<Outcome> => {
      let lifetime = 0n;
      if (server.complete) {
        if (this.reauthenticating && server.principal !== this.principal) {
          return failed(new SaslAuthenticationError(`re-authentication as ${server.principal} on a connection of ${this.principal}`, 'Cannot change principals during re-authentication'));
        }
        lifetime = BigInt(this.startSession(server));
      } else {
        this.state = 'authenticate';
        if (server.rejection !== undefined) this.deps.logger.info({ conn: this.conn.id, remote: this.conn.remote, mechanism: this.mechanism }, `authentication refused: ${server.rejection}`);
      }
      if (framed) return answer(ErrorCode.NONE, null, response, lifetime);
      const out = Buffer.allocUnsafe(4 + response.length);
      out.writeInt32BE(response.length, 0);
      response.copy(out, 4);
      return out;
    };
    this.state = 'evaluating';
    let result: Buffer | Promise<Buffer>;
    try {
      result = server.evaluate(token);
    } catch (err) {
      return failed(err);
    }
    return result instanceof Promise ? result.then(done, failed) : done(result);
  }

  /** Authentication (or re-authentication) complete: the principal, and when the session ends. */
  private startSession(server: SaslServerMechanism): number {
    const now = this.deps.now();
    const maxReauth = this.deps.maxReauthMs();
    const credentialLeft = server.credentialExpiresAtMs === undefined ? undefined : Math.max(0, server.credentialExpiresAtMs - now);
    let lifetime = 0;
    if (credentialLeft !== undefined && maxReauth > 0) lifetime = Math.min(credentialLeft, maxReauth);
    else if (credentialLeft !== undefined) lifetime = credentialLeft;
    else if (maxReauth > 0) lifetime = maxReauth;
    this.expiresAt = credentialLeft !== undefined || maxReauth > 0 ? now + lifetime : null;
    this.deps.logger.debug({ conn: this.conn.id, remote: this.conn.remote, mechanism: this.mechanism, principal: server.principal, sessionLifetimeMs: lifetime }, this.reauthenticating ? 're-authenticated' : 'authenticated');
    this.principal = server.principal;
    this.conn.setPrincipal(server.principal);
    this.reauthenticating = false;
    this.state = 'complete';
    return lifetime;
  }

  /** Answers (if `response`), after the failed-authentication delay, then closes. */
  private fail(response: Buffer | null, reason: string): Promise<Outcome> {
    this.state = 'failed';
    this.conn.setPrincipal('ANONYMOUS');
    this.deps.logger.info({ conn: this.conn.id, remote: this.conn.remote, mechanism: this.mechanism ?? null }, `authentication failed: ${reason}`);
    const outcome: Outcome = { close: true, reason: 'authentication failed', ...(response ? { last: response } : {}) };
    const delay = this.deps.failedDelayMs();
    return new Promise((resolve) => (delay > 0 ? setTimeout(() => resolve(outcome), delay) : resolve(outcome)));
  }

  private close(reason: string, level: 'info' | 'warn' = 'warn'): Outcome {
    this.state = 'failed';
    return { close: true, reason, level };
  }
}

function respond(header: RequestHeader, flexible: boolean, body: (w: Writer) => void): Buffer {
  return encodeResponseFrame(header.correlationId, responseHeaderIsV1(header.apiKey, flexible), body);
}
