// CRIU's RPC messages (criu/rpc.proto). The schema CRIU itself installs is
// preferred: it is the authority for that CRIU. Without it (a CRIU built
// without its headers) the few messages ocirun uses are written out below from
// their documented field numbers; test/unit/criuschema.test.ts checks that the
// two agree wherever both exist.
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';

export const INSTALLED_SCHEMA = '/usr/include/criu/rpc.proto';

export const OWN_SCHEMA = `
syntax = "proto2";
message criu_page_server_info { optional string address = 1; optional int32 port = 2; optional int32 pid = 3; optional int32 fd = 4; }
message ext_mount_map { required string key = 1; required string val = 2; }
message join_namespace { required string ns = 1; required string ns_file = 2; optional string extra_opt = 3; }
message inherit_fd { required string key = 1; required int32 fd = 2; }
message cgroup_root { optional string ctrl = 1; required string path = 2; }
enum criu_cg_mode { IGNORE = 0; CG_NONE = 1; PROPS = 2; SOFT = 3; FULL = 4; STRICT = 5; DEFAULT = 6; }
message criu_opts {
  required int32 images_dir_fd = 1;
  optional int32 pid = 2;
  optional bool leave_running = 3;
  optional bool ext_unix_sk = 4;
  optional bool tcp_established = 5;
  optional bool evasive_devices = 6;
  optional bool shell_job = 7;
  optional bool file_locks = 8;
  optional int32 log_level = 9 [default = 2];
  optional string log_file = 10;
  optional criu_page_server_info ps = 11;
  optional bool notify_scripts = 12;
  optional string root = 13;
  optional string parent_img = 14;
  optional bool track_mem = 15;
  optional bool auto_dedup = 16;
  optional int32 work_dir_fd = 17;
  repeated ext_mount_map ext_mnt = 23;
  optional bool manage_cgroups = 24;
  repeated cgroup_root cg_root = 25;
  optional bool rst_sibling = 26;
  repeated inherit_fd inherit_fd = 27;
  optional criu_cg_mode manage_cgroups_mode = 34;
  repeated string external = 37;
  optional uint32 empty_ns = 38;
  repeated join_namespace join_ns = 39;
  optional string freeze_cgroup = 44;
  optional bool lazy_pages = 48;
  optional int32 status_fd = 49;
  optional bool orphan_pts_master = 50;
  optional string config_file = 51;
  optional string lsm_profile = 53;
  optional string lsm_mount_context = 63;
}
message criu_dump_resp { optional bool restored = 1; }
message criu_restore_resp { required int32 pid = 1; }
message criu_notify { optional string script = 1; optional int32 pid = 2; }
enum criu_req_type {
  EMPTY = 0; DUMP = 1; RESTORE = 2; CHECK = 3; PRE_DUMP = 4; PAGE_SERVER = 5; NOTIFY = 6;
  CPUINFO_DUMP = 7; CPUINFO_CHECK = 8; FEATURE_CHECK = 9; VERSION = 10;
}
message criu_features { optional bool mem_track = 1; optional bool lazy_pages = 2; }
message criu_req {
  required criu_req_type type = 1;
  optional criu_opts opts = 2;
  optional bool notify_success = 3;
  optional bool keep_open = 4;
  optional criu_features features = 5;
}
message criu_version {
  required int32 major_number = 1; required int32 minor_number = 2; optional string gitid = 3;
  optional int32 sublevel = 4; optional int32 extra = 5; optional string name = 6;
}
message criu_resp {
  required criu_req_type type = 1;
  required bool success = 2;
  optional criu_dump_resp dump = 3;
  optional criu_restore_resp restore = 4;
  optional criu_notify notify = 5;
  optional criu_page_server_info ps = 6;
  optional int32 cr_errno = 7;
  optional criu_features features = 8;
  optional string cr_errmsg = 9;
  optional criu_version version = 10;
  optional int32 status = 11;
}
`;

/** The request types ocirun sends. */
export type ReqType = 'DUMP' | 'RESTORE' | 'PRE_DUMP' | 'NOTIFY' | 'FEATURE_CHECK' | 'VERSION';
export type CgMode = 'IGNORE' | 'SOFT' | 'FULL' | 'STRICT';

export interface CriuOpts {
  images_dir_fd: number;
  pid?: number;
  leave_running?: boolean;
  ext_unix_sk?: boolean;
  tcp_established?: boolean;
  evasive_devices?: boolean;
  shell_job?: boolean;
  file_locks?: boolean;
  log_level?: number;
  log_file?: string;
  ps?: { address?: string; port?: number; fd?: number };
  notify_scripts?: boolean;
  root?: string;
  parent_img?: string;
  track_mem?: boolean;
  auto_dedup?: boolean;
  work_dir_fd?: number;
  ext_mnt?: { key: string; val: string }[];
  manage_cgroups?: boolean;
  cg_root?: { ctrl?: string; path: string }[];
  rst_sibling?: boolean;
  inherit_fd?: { key: string; fd: number }[];
  manage_cgroups_mode?: CgMode;
  external?: string[];
  empty_ns?: number;
  join_ns?: { ns: string; ns_file: string; extra_opt?: string }[];
  freeze_cgroup?: string;
  lazy_pages?: boolean;
  status_fd?: number;
  orphan_pts_master?: boolean;
  config_file?: string;
  lsm_profile?: string;
  lsm_mount_context?: string;
}

export interface CriuReq {
  type: ReqType;
  opts?: CriuOpts;
  notify_success?: boolean;
  keep_open?: boolean;
  features?: { mem_track?: boolean; lazy_pages?: boolean };
}

export interface CriuResp {
  type: string;
  success: boolean;
  dump?: { restored?: boolean };
  restore?: { pid: number };
  notify?: { script?: string; pid?: number };
  cr_errno?: number;
  cr_errmsg?: string;
  features?: { mem_track?: boolean; lazy_pages?: boolean };
  version?: { major_number: number; minor_number: number; sublevel?: number; gitid?: string };
  status?: number;
}

export interface Codec {
  /** where the message definitions came from */
  source: string;
  encodeRequest(req: CriuReq): Uint8Array;
  decodeResponse(data: Uint8Array): CriuResp;
}

/** A codec over a schema text (exported for the schema test). */
export function codecFrom(text: string, source: string): Codec {
  const root = protobuf.parse(text, { keepCase: true }).root;
  const Req = root.lookupType('criu_req');
  const Resp = root.lookupType('criu_resp');
  return {
    source,
    encodeRequest(req) {
      const msg = Req.fromObject(req);
      const problem = Req.verify(msg);
      if (problem) throw new Error(`criu request: ${problem}`);
      return Req.encode(msg).finish();
    },
    decodeResponse(data) {
      const msg = Resp.decode(data);
      return Resp.toObject(msg, { enums: String, longs: Number, defaults: false }) as CriuResp;
    },
  };
}

let cached: Codec | undefined;

/** CRIU's installed schema when it is there and readable, our own otherwise. */
export function criuCodec(): Codec {
  if (cached) return cached;
  try {
    cached = codecFrom(readFileSync(INSTALLED_SCHEMA, 'utf8'), INSTALLED_SCHEMA);
  } catch {
    cached = codecFrom(OWN_SCHEMA, 'built-in');
  }
  return cached;
}
