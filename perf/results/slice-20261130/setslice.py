#!/usr/bin/env python3
# setslice.py TID POLICY SLICE_US : sched_setattr(tid, policy normal|batch, sched_runtime=slice)
import ctypes, struct, sys, os
libc = ctypes.CDLL(None, use_errno=True)
SYS_sched_setattr = 314
tid, pol, us = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
policy = {'normal': 0, 'batch': 3}[pol]
# struct sched_attr: size u32, policy u32, flags u64, nice s32, prio u32, runtime u64, deadline u64, period u64, util_min u32, util_max u32
attr = struct.pack('IIQiIQQQII', 56, policy, 0, 0, 0, us * 1000, 0, 0, 0, 0)
buf = ctypes.create_string_buffer(attr)
r = libc.syscall(SYS_sched_setattr, tid, buf, 0)
if r != 0:
    e = ctypes.get_errno(); print(f"sched_setattr {tid}: {os.strerror(e)}", file=sys.stderr); sys.exit(1)
