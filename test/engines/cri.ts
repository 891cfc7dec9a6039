// A small CRI client (Kubernetes' runtime.v1 gRPC API) for the containerd CRI
// test: what a kubelet sends, without a kubelet or crictl (Debian has
// neither). gRPC over HTTP/2 on a unix socket, protobuf written and read by
// hand for the few messages the test uses; field numbers are the CRI API's.
import { connect, constants, type ClientHttp2Session } from 'node:http2';
import { connect as connectUnix } from 'node:net';

// ---------------------------------------------------------------- protobuf

/** One field of a message to encode: a string, an integer, a nested message, or a repeated string. */
export type Field =
  | [number, 'string', string]
  | [number, 'varint', number | bigint | boolean]
  | [number, 'message', Buffer]
  | [number, 'strings', string[]];

function varint(n: bigint): Buffer {
  const out: number[] = [];
  let v = BigInt.asUintN(64, n); // negative int64s are ten bytes of two's complement
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v) byte |= 0x80;
    out.push(byte);
  } while (v);
  return Buffer.from(out);
}

const key = (field: number, wire: number) => varint(BigInt((field << 3) | wire));
const lengthDelimited = (field: number, data: Buffer) => Buffer.concat([key(field, 2), varint(BigInt(data.length)), data]);

/** Encode a message from its fields (zero values may be left out, as proto3 does). */
export function message(fields: Field[]): Buffer {
  const parts: Buffer[] = [];
  for (const [n, kind, value] of fields) {
    if (kind === 'string') parts.push(lengthDelimited(n, Buffer.from(value)));
    else if (kind === 'message') parts.push(lengthDelimited(n, value));
    else if (kind === 'strings') for (const s of value) parts.push(lengthDelimited(n, Buffer.from(s)));
    else parts.push(key(n, 0), varint(BigInt(typeof value === 'boolean' ? Number(value) : value)));
  }
  return Buffer.concat(parts);
}

/** A map<string,string> field: repeated {key = 1, value = 2} entries. */
export function mapEntries(field: number, map: Record<string, string>): Field[] {
  return Object.entries(map).map(([k, v]) => [field, 'message', message([[1, 'string', k], [2, 'string', v]])] as Field);
}

/** A decoded message: each field number → its values (varints as bigint, length-delimited as Buffer). */
export type Decoded = Map<number, (bigint | Buffer)[]>;

export function decode(buf: Buffer): Decoded {
  const out: Decoded = new Map();
  let i = 0;
  const readVarint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = buf[i++];
      if (byte === undefined) throw new Error('protobuf: truncated varint');
      result |= BigInt(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return result;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const k = Number(readVarint());
    const field = k >> 3;
    const wire = k & 7;
    let value: bigint | Buffer;
    if (wire === 0) value = readVarint();
    else if (wire === 2) { const len = Number(readVarint()); value = buf.subarray(i, i + len); i += len; }
    else if (wire === 1) { value = buf.readBigUInt64LE(i); i += 8; }
    else if (wire === 5) { value = BigInt(buf.readUInt32LE(i)); i += 4; }
    else throw new Error(`protobuf: wire type ${wire} not handled`);
    out.set(field, [...(out.get(field) ?? []), value]);
  }
  return out;
}

export const str = (m: Decoded, field: number): string => { const v = m.get(field)?.[0]; return Buffer.isBuffer(v) ? v.toString() : ''; };
export const num = (m: Decoded, field: number): number => { const v = m.get(field)?.[0]; return typeof v === 'bigint' ? Number(BigInt.asIntN(64, v)) : 0; };
export const sub = (m: Decoded, field: number): Decoded => { const v = m.get(field)?.[0]; return Buffer.isBuffer(v) ? decode(v) : new Map(); };
export const bytes = (m: Decoded, field: number): Buffer => { const v = m.get(field)?.[0]; return Buffer.isBuffer(v) ? v : Buffer.alloc(0); };

// ---------------------------------------------------------------- gRPC

export class GrpcError extends Error {
  constructor(readonly method: string, readonly status: number, detail: string) {
    super(`${method}: grpc-status ${status}: ${detail}`);
  }
}

/** A gRPC client on a unix socket: unary calls only. */
export class Grpc {
  private readonly session: ClientHttp2Session;
  constructor(socketPath: string) {
    this.session = connect('http://localhost', { createConnection: () => connectUnix(socketPath) });
    this.session.on('error', () => { /* each call reports its own failure */ });
  }

  call(method: string, request: Buffer, timeoutMs = 60_000): Promise<Decoded> {
    return new Promise((resolve, reject) => {
      const stream = this.session.request({
        [constants.HTTP2_HEADER_METHOD]: 'POST',
        [constants.HTTP2_HEADER_PATH]: method,
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      const timer = setTimeout(() => { stream.close(constants.NGHTTP2_CANCEL); reject(new Error(`${method}: no answer in ${timeoutMs} ms`)); }, timeoutMs);
      const chunks: Buffer[] = [];
      let status: number | null = null;
      let detail = '';
      const take = (h: Record<string, unknown>) => {
        if (h['grpc-status'] !== undefined) status = Number(h['grpc-status']);
        if (h['grpc-message'] !== undefined) detail = decodeURIComponent(String(h['grpc-message']));
      };
      stream.on('response', take);
      stream.on('trailers', take);
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (e) => { clearTimeout(timer); reject(e); });
      stream.on('end', () => {
        clearTimeout(timer);
        if (status !== 0) { reject(new GrpcError(method, status ?? -1, detail)); return; }
        const body = Buffer.concat(chunks);
        // One length-prefixed message: a compressed flag, a 4-byte length, the bytes.
        resolve(body.length >= 5 ? decode(body.subarray(5, 5 + body.readUInt32BE(1))) : new Map());
      });
      const header = Buffer.alloc(5);
      header.writeUInt32BE(request.length, 1);
      stream.end(Buffer.concat([header, request]));
    });
  }

  close(): void { this.session.close(); }
}

export const RUNTIME_SERVICE = '/runtime.v1.RuntimeService';

/** NamespaceMode of the CRI API. */
export const NamespaceMode = { POD: 0, CONTAINER: 1, NODE: 2 } as const;
/** ContainerState of the CRI API. */
export const ContainerState = { CREATED: 0, RUNNING: 1, EXITED: 2, UNKNOWN: 3 } as const;
