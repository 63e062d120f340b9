#!/usr/bin/env python3
"""set_acl.py PATH [UID PERM [MASK]]: give PATH the access ACL that
`setfacl -m u:UID:PERM` (and `-m m::MASK`) writes, PERM and MASK as octal
digits (6 = rw-); without UID, remove PATH's access ACL. The test hosts
have no setfacl: the kernel's xattr form is written directly
(linux/posix_acl_xattr.h). Exit 3 when the file system keeps no ACLs."""
import errno
import os
import struct
import sys

NAME = 'system.posix_acl_access'


def entry(tag, perm, ident=0xffffffff):
    return struct.pack('<HHI', tag, perm, ident)


def main():
    path = sys.argv[1]
    try:
        if len(sys.argv) == 2:
            os.removexattr(path, NAME)
            return 0
        uid, perm = int(sys.argv[2]), int(sys.argv[3], 8)
        mask = int(sys.argv[4], 8) if len(sys.argv) > 4 else 7
        mode = os.stat(path).st_mode
        value = struct.pack('<I', 2) + entry(0x01, (mode >> 6) & 7) + entry(0x02, perm, uid) + \
            entry(0x04, (mode >> 3) & 7) + entry(0x10, mask) + entry(0x20, mode & 7)
        os.setxattr(path, NAME, value)
    except OSError as e:
        if e.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            print(f'{path}: no ACLs on this file system', file=sys.stderr)
            return 3
        raise
    return 0


if __name__ == '__main__':
    sys.exit(main())
