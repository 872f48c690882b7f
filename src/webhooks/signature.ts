import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * A delivery's signature: HMAC-SHA256 with the subscription's secret over
 * `<timestamp>.<body>` (the timestamp in Unix seconds, as sent in
 * X-Centralita-Timestamp), hex, sent as `v1=<hex>` in X-Centralita-Signature.
 * The timestamp inside it lets a receiver refuse old deliveries replayed by
 * someone else (docs/webhooks.md).
 */
export function sign(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** What a receiver does (docs/webhooks.md has the same in a few lines): true when the signature is the sender's. */
export function verify(secret: string, timestamp: number, body: string, signature: string): boolean {
  const expected = Buffer.from(sign(secret, timestamp, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
