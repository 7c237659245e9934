#!/usr/bin/env python3
"""c2c-mkimg.py: the project's own CRIU image generator.

It writes CRIU checkpoint image directories from a JSON description (or from a
few numbers, for big synthetic checkpoints), so that ckpt2core can be tested on
inputs the real fixtures do not cover: CRIU 3.x pagemaps, lazy pages, parent
chains, odd VMA kinds, zombies, huge dumps. It also decodes and re-encodes
single images, which is how the encoder is checked against real CRIU output.

Everything here follows docs/criu-image-format.md ("the doc", cited as §N).
Python 3 standard library only: the proto2 wire format is encoded by hand from
the field tables in SCHEMA below, which are the single source of truth for both
directions. See tools/README.md for the JSON schema and the CLI.

Subcommands:
  c2c-mkimg.py SPEC.json -o OUT            generate from a description ("-" = stdin)
  c2c-mkimg.py --synthetic [params] -o OUT generate a big synthetic checkpoint
  c2c-mkimg.py decode IMAGE [--hex]        print an image as JSON
  c2c-mkimg.py encode JSON -o IMAGE        inverse of decode (also reads crit/pycriu JSON)
  c2c-mkimg.py spec-from-images DIR        turn a real image directory into a SPEC
  c2c-mkimg.py from-desc DESC.json -o OUT  images of a process described from a
                                           qemu-user core (tools/arch-describe.py)
"""

import argparse
import base64
import bisect
import ipaddress
import json
import os
import shutil
import struct
import sys

# ---------------------------------------------------------------------------
# Framing constants
# ---------------------------------------------------------------------------

IMG_COMMON_MAGIC = 0x54564319   # §1.2 "Sarov": prefix of every normal image
IMG_SERVICE_MAGIC = 0x55105940  # §1.2 "Zlatoust": prefix of stats-*/irmap-cache

# Image kinds: pycriu-style name -> (image magic, entry message, options).
# Magics from §1.3; "head" = message type of the first entry (§1.4, §2.5);
# "service" = IMG_SERVICE prefix (§4); "noprefix" = never prefixed (§1.2);
# "extra" = raw blob after each entry whose length is given by a field (§1.4).
KINDS = {
    'INVENTORY': (0x58313116, 'inventory_entry', {'noprefix': True}),
    'PSTREE': (0x50273030, 'pstree_entry', {}),
    'CORE': (0x55053847, 'core_entry', {}),
    'IDS': (0x54432030, 'task_kobj_ids_entry', {}),
    'MM': (0x57492820, 'mm_entry', {}),
    'PAGEMAP': (0x56084025, 'pagemap_entry', {'head': 'pagemap_head'}),
    'FILES': (0x56303138, 'file_entry', {}),
    'REG_FILES': (0x50363636, 'reg_file_entry', {}),
    'FDINFO': (0x56213732, 'fdinfo_entry', {}),
    'FS': (0x51403912, 'fs_entry', {}),
    'MEMFD_INODE': (0x48453499, 'memfd_inode_entry', {}),
    'REMAP_FPATH': (0x59133954, 'remap_file_path_entry', {}),
    'SECCOMP': (0x64413049, 'seccomp_entry', {}),
    'TIMENS': (0x43114433, 'timens_entry', {}),
    'UTSNS': (0x54473203, 'utsns_entry', {}),
    'IPC_VAR': (0x53115007, 'ipc_var_entry', {}),
    'IPCNS_SHM': (0x46283044, 'ipc_shm_entry', {'extra': 'ipc_shm'}),
    'PIPES': (0x56513555, 'pipe_entry', {}),
    'PIPES_DATA': (0x56453709, 'pipe_data_entry', {'extra': 'bytes'}),
    'FIFO_DATA': (0x59333054, 'pipe_data_entry', {'extra': 'bytes'}),
    'VMAS': (0x54123737, 'vma_entry', {}),
    'CREDS': (0x54023547, 'creds_entry', {}),
    'STATS': (0x57093306, 'stats_entry', {'service': True}),
    'NETDEV': (0x57373951, 'net_device_entry', {}),
    'NETNS': (0x55933752, 'netns_entry', {}),
    'CGROUP': (0x59383330, 'cgroup_entry', {}),
}
MAGIC_TO_KIND = {v[0]: k for k, v in KINDS.items()}

# PagemapEntry flags, §2.5 (criu/include/pagemap.h; stable since v3.5).
PE_PARENT, PE_LAZY, PE_PRESENT = 1, 2, 4

# VmaEntry.status bits, §2.4 (criu/include/image.h; image ABI).
VMA_AREA_REGULAR = 0x1
VMA_AREA_STACK = 0x2
VMA_AREA_VSYSCALL = 0x4
VMA_AREA_VDSO = 0x8
VMA_AREA_HEAP = 0x20
VMA_FILE_PRIVATE = 0x40
VMA_FILE_SHARED = 0x80
VMA_ANON_SHARED = 0x100
VMA_ANON_PRIVATE = 0x200
VMA_AREA_SYSVIPC = 0x400
VMA_AREA_SOCKET = 0x800
VMA_AREA_VVAR = 0x1000
VMA_AREA_AIORING = 0x2000
VMA_AREA_MEMFD = 0x4000
VMA_AREA_SHSTK = 0x8000
VMA_AREA_GUARD = 0x10000

# mmap(2) flags/prot as stored in VmaEntry, §2.4 (Linux uapi mman.h values).
PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4
MAP_SHARED, MAP_PRIVATE, MAP_ANONYMOUS = 0x1, 0x2, 0x20
MAP_GROWSDOWN, MAP_LOCKED, MAP_HUGETLB = 0x100, 0x2000, 0x40000
MADV_DONTDUMP_BIT = 1 << 16     # §2.4 VmaEntry.madv: 1 << MADV_DONTDUMP(16)

# Symbolic names accepted wherever a number is expected. They are the names
# crit/pycriu print for "flags" fields (so their JSON can be re-encoded) plus
# the doc's names. All are distinct, so one table serves every field.
FLAG_NAMES = {
    'PROT_NONE': 0, 'PROT_READ': PROT_READ, 'PROT_WRITE': PROT_WRITE, 'PROT_EXEC': PROT_EXEC,
    'MAP_SHARED': MAP_SHARED, 'MAP_PRIVATE': MAP_PRIVATE, 'MAP_DROPPABLE': 0x08,
    'MAP_ANON': MAP_ANONYMOUS, 'MAP_ANONYMOUS': MAP_ANONYMOUS, 'MAP_GROWSDOWN': MAP_GROWSDOWN,
    'MAP_LOCKED': MAP_LOCKED, 'MAP_NORESERVE': 0x4000, 'MAP_HUGETLB': MAP_HUGETLB,
    'VMA_AREA_NONE': 0, 'VMA_AREA_REGULAR': VMA_AREA_REGULAR, 'VMA_AREA_STACK': VMA_AREA_STACK,
    'VMA_AREA_VSYSCALL': VMA_AREA_VSYSCALL, 'VMA_AREA_VDSO': VMA_AREA_VDSO,
    'VMA_AREA_HEAP': VMA_AREA_HEAP, 'VMA_FILE_PRIVATE': VMA_FILE_PRIVATE,
    'VMA_FILE_SHARED': VMA_FILE_SHARED, 'VMA_ANON_SHARED': VMA_ANON_SHARED,
    'VMA_ANON_PRIVATE': VMA_ANON_PRIVATE, 'VMA_AREA_SYSVIPC': VMA_AREA_SYSVIPC,
    'VMA_AREA_SOCKET': VMA_AREA_SOCKET, 'VMA_AREA_VVAR': VMA_AREA_VVAR,
    'VMA_AREA_AIORING': VMA_AREA_AIORING, 'VMA_AREA_MEMFD': VMA_AREA_MEMFD,
    'VMA_AREA_SHSTK': VMA_AREA_SHSTK, 'VMA_AREA_GUARD': VMA_AREA_GUARD,
    'VMA_AREA_UPROBES': 0x20000, 'VMA_EXT_PLUGIN': 0x8000000, 'VMA_CLOSE': 0x10000000,
    'VMA_NO_PROT_WRITE': 0x20000000, 'VMA_PREMMAPED': 0x40000000, 'VMA_UNSUPP': 0x80000000,
    # open(2) flags (octal, x86_64 uapi fcntl.h) as crit prints RegFileEntry.flags
    'O_RDONLY': 0, 'O_WRONLY': 0o1, 'O_RDWR': 0o2, 'O_CREAT': 0o100, 'O_EXCL': 0o200,
    'O_NOCTTY': 0o400, 'O_TRUNC': 0o1000, 'O_APPEND': 0o2000, 'O_NONBLOCK': 0o4000,
    'O_DSYNC': 0o10000, 'FASYNC': 0o20000, 'O_DIRECT': 0o40000, 'O_LARGEFILE': 0o100000,
    'O_DIRECTORY': 0o200000, 'O_NOFOLLOW': 0o400000, 'O_NOATIME': 0o1000000,
    'O_CLOEXEC': 0o2000000, 'O_PATH': 0o10000000, 'O_TMPFILE': 0o20200000,
    # memfd seals (uapi fcntl.h), MemfdInodeEntry.seals §2.7
    'F_SEAL_SEAL': 0x1, 'F_SEAL_SHRINK': 0x2, 'F_SEAL_GROW': 0x4, 'F_SEAL_WRITE': 0x8,
    'F_SEAL_FUTURE_WRITE': 0x10, 'F_SEAL_EXEC': 0x20,
    'PE_PARENT': PE_PARENT, 'PE_LAZY': PE_LAZY, 'PE_PRESENT': PE_PRESENT,
}

# Auxiliary vector types (Linux uapi auxvec.h / elf.h), for "auxv" dicts.
AT_NAMES = {
    'AT_NULL': 0, 'AT_IGNORE': 1, 'AT_EXECFD': 2, 'AT_PHDR': 3, 'AT_PHENT': 4, 'AT_PHNUM': 5,
    'AT_PAGESZ': 6, 'AT_BASE': 7, 'AT_FLAGS': 8, 'AT_ENTRY': 9, 'AT_NOTELF': 10, 'AT_UID': 11,
    'AT_EUID': 12, 'AT_GID': 13, 'AT_EGID': 14, 'AT_PLATFORM': 15, 'AT_HWCAP': 16,
    'AT_CLKTCK': 17, 'AT_SECURE': 23, 'AT_BASE_PLATFORM': 24, 'AT_RANDOM': 25,
    'AT_HWCAP2': 26, 'AT_RSEQ_FEATURE_SIZE': 27, 'AT_RSEQ_ALIGN': 28, 'AT_HWCAP3': 29,
    'AT_HWCAP4': 30, 'AT_EXECFN': 31, 'AT_SYSINFO_EHDR': 33, 'AT_MINSIGSTKSZ': 51,
}

# ---------------------------------------------------------------------------
# Message tables (proto2). Field numbers, types and labels are those of §1.9,
# §2 and §4; message and field names are CRIU's, so that crit/pycriu JSON can
# be fed to "encode". Types: scalar names, 'enum:<E>' or a message name.
# Labels: 'req' (always emitted, §1.5), 'opt', 'rep' (never packed, §1.5).
# ---------------------------------------------------------------------------

ENUMS = {
    # §2.2 CoreEntry.mtype
    'march': {'UNKNOWN': 0, 'X86_64': 1, 'ARM': 2, 'AARCH64': 3, 'PPC64': 4, 'S390': 5,
              'MIPS': 6, 'LOONGARCH64': 7, 'RISCV64': 8},
    'user_x86_regs_mode': {'NATIVE': 1, 'COMPAT': 2},           # §2.2.1 field 28
    'lsmtype': {'NO_LSM': 0, 'SELINUX': 1, 'APPARMOR': 2},        # §1.9 field 6
    'seccomp_mode': {'disabled': 0, 'strict': 1, 'filter': 2},    # §2.2.2
    'fd_types': {'UND': 0, 'REG': 1, 'PIPE': 2, 'FIFO': 3, 'INETSK': 4, 'UNIXSK': 5,  # §2.8
                 'EVENTFD': 6, 'EVENTPOLL': 7, 'INOTIFY': 8, 'SIGNALFD': 9, 'PACKETSK': 10,
                 'TTY': 11, 'FANOTIFY': 12, 'NETLINKSK': 13, 'NS': 14, 'TUNF': 15, 'EXT': 16,
                 'TIMERFD': 17, 'MEMFD': 18, 'BPFMAP': 19, 'PIDFD': 20},
    'remap_type': {'LINKED': 0, 'GHOST': 1, 'PROCFS': 2},        # §2.8
    # CRIU images/netdev.proto nd_type
    'nd_type': {'LOOPBACK': 1, 'VETH': 2, 'TUN': 3, 'EXTLINK': 4, 'VENET': 5, 'BRIDGE': 6,
                'MACVLAN': 7, 'SIT': 8},
}
ENUM_NAMES = {e: {v: k for k, v in m.items()} for e, m in ENUMS.items()}

# crit prints TaskCoreEntry.task_state with its own labels, which do not match
# the C values (§2.2.2: crit "Zombie" = 3 = STOPPED). Accept them only so that
# crit output re-encodes to the same bytes; our own specs use "state" instead.
CRIT_TASK_STATE = {'Alive': 1, 'Dead': 2, 'Zombie': 3, 'Stopped': 6}


def _gpregs_x86():
    # §2.2.1: field N = word N-1 of the kernel's struct user_regs_struct.
    names = ['r15', 'r14', 'r13', 'r12', 'bp', 'bx', 'r11', 'r10', 'r9', 'r8', 'ax', 'cx',
             'dx', 'si', 'di', 'orig_ax', 'ip', 'cs', 'flags', 'sp', 'ss', 'fs_base',
             'gs_base', 'ds', 'es', 'fs', 'gs']
    fields = [(i + 1, n, 'uint64', 'req') for i, n in enumerate(names)]
    return fields + [(28, 'mode', 'enum:user_x86_regs_mode', 'opt')]


def _riscv_regs():
    # §2.2.4: kernel user_regs_struct order for riscv64
    names = (['pc', 'ra', 'sp', 'gp', 'tp', 't0', 't1', 't2', 's0', 's1'] +
             ['a%d' % i for i in range(8)] + ['s%d' % i for i in range(2, 12)] +
             ['t3', 't4', 't5', 't6'])
    return [(i + 1, n, 'uint64', 'req') for i, n in enumerate(names)]


SCHEMA = {
    # §1.9
    'inventory_entry': [
        (1, 'img_version', 'uint32', 'req'), (2, 'fdinfo_per_id', 'bool', 'opt'),
        (3, 'root_ids', 'task_kobj_ids_entry', 'opt'), (4, 'ns_per_id', 'bool', 'opt'),
        (5, 'root_cg_set', 'uint32', 'opt'), (6, 'lsmtype', 'enum:lsmtype', 'opt'),
        (8, 'dump_uptime', 'uint64', 'opt'), (9, 'pre_dump_mode', 'uint32', 'opt'),
        (10, 'tcp_close', 'bool', 'opt'), (11, 'network_lock_method', 'uint32', 'opt'),
        (12, 'plugins_entry', 'plugins_entry', 'opt'),
        (13, 'dump_criu_run_id', 'string', 'opt'), (14, 'allow_uprobes', 'bool', 'opt')],
    'plugins_entry': [(12, 'plugins', 'string', 'rep')],
    # §2.3
    'task_kobj_ids_entry': [
        (1, 'vm_id', 'uint32', 'req'), (2, 'files_id', 'uint32', 'req'),
        (3, 'fs_id', 'uint32', 'req'), (4, 'sighand_id', 'uint32', 'req'),
        (5, 'pid_ns_id', 'uint32', 'opt'), (6, 'net_ns_id', 'uint32', 'opt'),
        (7, 'ipc_ns_id', 'uint32', 'opt'), (8, 'uts_ns_id', 'uint32', 'opt'),
        (9, 'mnt_ns_id', 'uint32', 'opt'), (10, 'user_ns_id', 'uint32', 'opt'),
        (11, 'cgroup_ns_id', 'uint32', 'opt'), (12, 'time_ns_id', 'uint32', 'opt')],
    # §2.1
    'pstree_entry': [
        (1, 'pid', 'uint32', 'req'), (2, 'ppid', 'uint32', 'req'), (3, 'pgid', 'uint32', 'req'),
        (4, 'sid', 'uint32', 'req'), (5, 'threads', 'uint32', 'rep')],
    # §2.2
    'core_entry': [
        (1, 'mtype', 'enum:march', 'req'), (2, 'thread_info', 'thread_info_x86', 'opt'),
        (3, 'tc', 'task_core_entry', 'opt'), (4, 'ids', 'task_kobj_ids_entry', 'opt'),
        (5, 'thread_core', 'thread_core_entry', 'opt'), (6, 'ti_arm', 'thread_info_arm', 'opt'),
        (8, 'ti_aarch64', 'thread_info_aarch64', 'opt'),
        (9, 'ti_ppc64', 'thread_info_ppc64', 'opt'),
        (10, 'ti_s390', 'thread_info_s390', 'opt'),
        (12, 'ti_loongarch64', 'thread_info_loongarch64', 'opt'),
        (13, 'ti_riscv64', 'thread_info_riscv64', 'opt')],
    # §2.2.1
    'thread_info_x86': [
        (1, 'clear_tid_addr', 'uint64', 'req'), (2, 'gpregs', 'user_x86_regs_entry', 'req'),
        (3, 'fpregs', 'user_x86_fpregs_entry', 'req'), (4, 'tls', 'user_desc_t', 'rep')],
    'user_x86_regs_entry': _gpregs_x86(),
    'user_x86_fpregs_entry': [
        (1, 'cwd', 'uint32', 'req'), (2, 'swd', 'uint32', 'req'), (3, 'twd', 'uint32', 'req'),
        (4, 'fop', 'uint32', 'req'), (5, 'rip', 'uint64', 'req'), (6, 'rdp', 'uint64', 'req'),
        (7, 'mxcsr', 'uint32', 'req'), (8, 'mxcsr_mask', 'uint32', 'req'),
        (9, 'st_space', 'uint32', 'rep'), (10, 'xmm_space', 'uint32', 'rep'),
        (11, 'padding', 'uint32', 'rep'), (13, 'xsave', 'user_x86_xsave_entry', 'opt')],
    'user_x86_xsave_entry': [
        (1, 'xstate_bv', 'uint64', 'req'), (2, 'ymmh_space', 'uint32', 'rep'),
        (3, 'bndreg_state', 'uint64', 'rep'), (4, 'bndcsr_state', 'uint64', 'rep'),
        (5, 'opmask_reg', 'uint64', 'rep'), (6, 'zmm_upper', 'uint64', 'rep'),
        (7, 'hi16_zmm', 'uint64', 'rep'), (8, 'pkru', 'uint32', 'rep'),
        (9, 'cet', 'user_x86_cet_entry', 'opt')],
    'user_x86_cet_entry': [(1, 'cet', 'uint64', 'req'), (2, 'ssp', 'uint64', 'req')],
    # user_desc_t: read_exec_only and seg_not_present default to true (§2.2.1)
    'user_desc_t': [
        (1, 'entry_number', 'uint32', 'req'), (2, 'base_addr', 'uint32', 'req'),
        (3, 'limit', 'uint32', 'req'), (4, 'seg_32bit', 'bool', 'req'),
        (5, 'contents_h', 'bool', 'req'), (6, 'contents_l', 'bool', 'req'),
        (7, 'read_exec_only', 'bool', 'req', True), (8, 'limit_in_pages', 'bool', 'req'),
        (9, 'seg_not_present', 'bool', 'req', True), (10, 'usable', 'bool', 'req')],
    # §2.2.4
    'thread_info_aarch64': [
        (1, 'clear_tid_addr', 'uint64', 'req'), (2, 'tls', 'uint64', 'req'),
        (3, 'gpregs', 'user_aarch64_regs_entry', 'req'),
        (4, 'fpsimd', 'user_aarch64_fpsimd_context_entry', 'req'),
        (5, 'pac_keys', 'pac_keys', 'opt')],
    'user_aarch64_regs_entry': [
        (1, 'regs', 'uint64', 'rep'), (2, 'sp', 'uint64', 'req'), (3, 'pc', 'uint64', 'req'),
        (4, 'pstate', 'uint64', 'req')],
    'user_aarch64_fpsimd_context_entry': [
        (1, 'vregs', 'uint64', 'rep'), (2, 'fpsr', 'uint32', 'req'), (3, 'fpcr', 'uint32', 'req')],
    'pac_keys': [(6, 'pac_address_keys', 'pac_address_keys', 'opt'),
                 (7, 'pac_generic_keys', 'pac_generic_keys', 'opt')],
    'pac_address_keys': [
        (1, 'apiakey_lo', 'uint64', 'req'), (2, 'apiakey_hi', 'uint64', 'req'),
        (3, 'apibkey_lo', 'uint64', 'req'), (4, 'apibkey_hi', 'uint64', 'req'),
        (5, 'apdakey_lo', 'uint64', 'req'), (6, 'apdakey_hi', 'uint64', 'req'),
        (7, 'apdbkey_lo', 'uint64', 'req'), (8, 'apdbkey_hi', 'uint64', 'req'),
        (9, 'pac_enabled_key', 'uint64', 'req')],
    'pac_generic_keys': [(1, 'apgakey_lo', 'uint64', 'req'), (2, 'apgakey_hi', 'uint64', 'req')],
    'thread_info_arm': [
        (1, 'clear_tid_addr', 'uint64', 'req'), (2, 'tls', 'uint32', 'req'),
        (3, 'gpregs', 'user_arm_regs_entry', 'req'),
        (4, 'fpstate', 'user_arm_vfpstate_entry', 'req')],
    'user_arm_regs_entry': [(i + 1, n, 'uint32', 'req') for i, n in enumerate(
        ['r%d' % i for i in range(11)] + ['fp', 'ip', 'sp', 'lr', 'pc', 'cpsr', 'orig_r0'])],
    'user_arm_vfpstate_entry': [
        (1, 'vfp_regs', 'uint64', 'rep'), (2, 'fpscr', 'uint32', 'req'),
        (3, 'fpexc', 'uint32', 'req'), (4, 'fpinst', 'uint32', 'req'),
        (5, 'fpinst2', 'uint32', 'req')],
    # §2.2.4, CRIU images/core-ppc64.proto
    'thread_info_ppc64': [
        (1, 'clear_tid_addr', 'uint64', 'req'), (2, 'gpregs', 'user_ppc64_regs_entry', 'req'),
        (3, 'fpstate', 'user_ppc64_fpstate_entry', 'opt'),
        (4, 'vrstate', 'user_ppc64_vrstate_entry', 'opt'),
        (5, 'vsxstate', 'user_ppc64_vsxstate_entry', 'opt')],
    'user_ppc64_regs_entry': [(1, 'gpr', 'uint64', 'rep')] + [
        (i + 2, n, 'uint64', 'req') for i, n in enumerate(
            ['nip', 'msr', 'orig_gpr3', 'ctr', 'link', 'xer', 'ccr', 'trap'])],
    'user_ppc64_fpstate_entry': [(1, 'fpregs', 'uint64', 'rep')],
    'user_ppc64_vrstate_entry': [(1, 'vrregs', 'uint64', 'rep'), (2, 'vrsave', 'uint32', 'req')],
    'user_ppc64_vsxstate_entry': [(1, 'vsxregs', 'uint64', 'rep')],
    # §2.2.4, CRIU images/core-s390.proto
    'thread_info_s390': [
        (1, 'clear_tid_addr', 'uint64', 'req'), (2, 'gpregs', 'user_s390_regs_entry', 'req'),
        (3, 'fpregs', 'user_s390_fpregs_entry', 'req'),
        (4, 'vxrs_low', 'user_s390_vxrs_low_entry', 'opt'),
        (5, 'vxrs_high', 'user_s390_vxrs_high_entry', 'opt')],
    'user_s390_vxrs_low_entry': [(1, 'regs', 'uint64', 'rep')],
    'user_s390_vxrs_high_entry': [(1, 'regs', 'uint64', 'rep')],
    'user_s390_regs_entry': [
        (1, 'psw_mask', 'uint64', 'req'), (2, 'psw_addr', 'uint64', 'req'),
        (3, 'gprs', 'uint64', 'rep'), (4, 'acrs', 'uint32', 'rep'),
        (5, 'orig_gpr2', 'uint64', 'req'), (6, 'system_call', 'uint32', 'req')],
    'user_s390_fpregs_entry': [(1, 'fpc', 'uint32', 'req'), (2, 'fprs', 'uint64', 'rep')],
    'thread_info_riscv64': [
        (1, 'clear_tid_addr', 'uint64', 'req'), (2, 'tls', 'uint64', 'req'),
        (3, 'gpregs', 'user_riscv64_regs_entry', 'req'),
        (4, 'fpsimd', 'user_riscv64_d_ext_entry', 'req')],
    'user_riscv64_regs_entry': _riscv_regs(),
    'user_riscv64_d_ext_entry': [(1, 'f', 'uint64', 'rep'), (2, 'fcsr', 'uint32', 'req')],
    'thread_info_loongarch64': [
        (1, 'clear_tid_addr', 'uint64', 'req'), (2, 'tls', 'uint64', 'req'),
        (3, 'gpregs', 'user_loongarch64_gpregs_entry', 'req'),
        (4, 'fpregs', 'user_loongarch64_fpregs_entry', 'req')],
    'user_loongarch64_gpregs_entry': [(1, 'regs', 'uint64', 'rep'), (2, 'pc', 'uint64', 'req')],
    'user_loongarch64_fpregs_entry': [
        (1, 'regs', 'uint64', 'rep'), (2, 'fcc', 'uint64', 'req'), (3, 'fcsr', 'uint32', 'req')],
    # §2.2.2
    'task_core_entry': [
        (1, 'task_state', 'uint32', 'req'), (2, 'exit_code', 'uint32', 'req'),
        (3, 'personality', 'uint32', 'req'), (4, 'flags', 'uint32', 'req'),
        (5, 'blk_sigset', 'uint64', 'req'), (6, 'comm', 'string', 'req'),
        (7, 'timers', 'task_timers_entry', 'opt'), (8, 'rlimits', 'task_rlimits_entry', 'opt'),
        (9, 'cg_set', 'uint32', 'opt'), (10, 'signals_s', 'signal_queue_entry', 'opt'),
        (11, 'old_seccomp_mode', 'enum:seccomp_mode', 'opt'),
        (12, 'old_seccomp_filter', 'uint32', 'opt'), (13, 'loginuid', 'uint32', 'opt'),
        (14, 'oom_score_adj', 'int32', 'opt'), (15, 'sigactions', 'sa_entry', 'rep'),
        (18, 'child_subreaper', 'bool', 'opt'), (20, 'blk_sigset_extended', 'uint64', 'opt'),
        (21, 'stop_signo', 'uint32', 'opt'),
        (22, 'membarrier_registration_mask', 'uint32', 'opt')],
    'task_timers_entry': [
        (1, 'real', 'itimer_entry', 'req'), (2, 'virt', 'itimer_entry', 'req'),
        (3, 'prof', 'itimer_entry', 'req'), (4, 'posix', 'posix_timer_entry', 'rep')],
    'itimer_entry': [(1, 'isec', 'uint64', 'req'), (2, 'iusec', 'uint64', 'req'),
                     (3, 'vsec', 'uint64', 'req'), (4, 'vusec', 'uint64', 'req')],
    'posix_timer_entry': [
        (1, 'it_id', 'uint32', 'req'), (2, 'clock_id', 'uint32', 'req'),
        (3, 'si_signo', 'uint32', 'req'), (4, 'it_sigev_notify', 'uint32', 'req'),
        (5, 'sival_ptr', 'uint64', 'req'), (6, 'overrun', 'uint32', 'req'),
        (7, 'isec', 'uint64', 'req'), (8, 'insec', 'uint64', 'req'),
        (9, 'vsec', 'uint64', 'req'), (10, 'vnsec', 'uint64', 'req'),
        (11, 'notify_thread_id', 'int32', 'opt')],
    'task_rlimits_entry': [(1, 'rlimits', 'rlimit_entry', 'rep')],
    'rlimit_entry': [(1, 'cur', 'uint64', 'req'), (2, 'max', 'uint64', 'req')],
    'signal_queue_entry': [(1, 'signals', 'siginfo_entry', 'rep')],
    'siginfo_entry': [(1, 'siginfo', 'bytes', 'req')],
    'sa_entry': [
        (1, 'sigaction', 'uint64', 'req'), (2, 'flags', 'uint64', 'req'),
        (3, 'restorer', 'uint64', 'req'), (4, 'mask', 'uint64', 'req'),
        (5, 'compat_sigaction', 'bool', 'opt'), (6, 'mask_extended', 'uint64', 'opt')],
    # §2.2.3
    'thread_core_entry': [
        (1, 'futex_rla', 'uint64', 'req'), (2, 'futex_rla_len', 'uint32', 'req'),
        (3, 'sched_nice', 'sint32', 'opt'), (4, 'sched_policy', 'uint32', 'opt'),
        (5, 'sched_prio', 'uint32', 'opt'), (6, 'blk_sigset', 'uint64', 'opt'),
        (7, 'sas', 'thread_sas_entry', 'opt'), (8, 'pdeath_sig', 'uint32', 'opt'),
        (9, 'signals_p', 'signal_queue_entry', 'opt'), (10, 'creds', 'creds_entry', 'opt'),
        (11, 'seccomp_mode', 'enum:seccomp_mode', 'opt'), (12, 'seccomp_filter', 'uint32', 'opt'),
        (13, 'comm', 'string', 'opt'), (14, 'blk_sigset_extended', 'uint64', 'opt'),
        (15, 'rseq_entry', 'rseq_entry', 'opt'), (16, 'cg_set', 'uint32', 'opt')],
    'thread_sas_entry': [(1, 'ss_sp', 'uint64', 'req'), (2, 'ss_size', 'uint64', 'req'),
                         (3, 'ss_flags', 'uint32', 'req')],
    'rseq_entry': [
        (1, 'rseq_abi_pointer', 'uint64', 'req'), (2, 'rseq_abi_size', 'uint32', 'req'),
        (3, 'signature', 'uint32', 'req'), (4, 'rseq_cs_pointer', 'uint64', 'opt')],
    'creds_entry': [
        (1, 'uid', 'uint32', 'req'), (2, 'gid', 'uint32', 'req'), (3, 'euid', 'uint32', 'req'),
        (4, 'egid', 'uint32', 'req'), (5, 'suid', 'uint32', 'req'), (6, 'sgid', 'uint32', 'req'),
        (7, 'fsuid', 'uint32', 'req'), (8, 'fsgid', 'uint32', 'req'),
        (9, 'cap_inh', 'uint32', 'rep'), (10, 'cap_prm', 'uint32', 'rep'),
        (11, 'cap_eff', 'uint32', 'rep'), (12, 'cap_bnd', 'uint32', 'rep'),
        (13, 'secbits', 'uint32', 'req'), (14, 'groups', 'uint32', 'rep'),
        (15, 'lsm_profile', 'string', 'opt'), (16, 'lsm_sockcreate', 'string', 'opt'),
        (17, 'apparmor_data', 'bytes', 'opt'), (18, 'no_new_privs', 'uint32', 'opt'),
        (19, 'cap_amb', 'uint32', 'rep')],
    # §2.4
    'mm_entry': [
        (1, 'mm_start_code', 'uint64', 'req'), (2, 'mm_end_code', 'uint64', 'req'),
        (3, 'mm_start_data', 'uint64', 'req'), (4, 'mm_end_data', 'uint64', 'req'),
        (5, 'mm_start_stack', 'uint64', 'req'), (6, 'mm_start_brk', 'uint64', 'req'),
        (7, 'mm_brk', 'uint64', 'req'), (8, 'mm_arg_start', 'uint64', 'req'),
        (9, 'mm_arg_end', 'uint64', 'req'), (10, 'mm_env_start', 'uint64', 'req'),
        (11, 'mm_env_end', 'uint64', 'req'), (12, 'exe_file_id', 'uint32', 'req'),
        (13, 'mm_saved_auxv', 'uint64', 'rep'), (14, 'vmas', 'vma_entry', 'rep'),
        (15, 'dumpable', 'int32', 'opt'), (16, 'aios', 'aio_ring_entry', 'rep'),
        (17, 'thp_disabled', 'bool', 'opt')],
    'vma_entry': [
        (1, 'start', 'uint64', 'req'), (2, 'end', 'uint64', 'req'), (3, 'pgoff', 'uint64', 'req'),
        (4, 'shmid', 'uint64', 'req'), (5, 'prot', 'uint32', 'req'), (6, 'flags', 'uint32', 'req'),
        (7, 'status', 'uint32', 'req'), (8, 'fd', 'sint64', 'req'), (9, 'madv', 'uint64', 'opt'),
        (10, 'fdflags', 'uint32', 'opt')],
    'aio_ring_entry': [(1, 'id', 'uint64', 'req'), (2, 'nr_req', 'uint32', 'req'),
                       (3, 'ring_len', 'uint32', 'req')],
    # §2.5
    'pagemap_head': [(1, 'pages_id', 'uint32', 'req')],
    'pagemap_entry': [
        (1, 'vaddr', 'uint64', 'req'), (2, 'compat_nr_pages', 'uint32', 'req'),
        (3, 'in_parent', 'bool', 'opt'), (4, 'flags', 'uint32', 'opt'),
        (5, 'nr_pages', 'uint64', 'opt')],
    # §2.8
    'file_entry': [
        (1, 'type', 'enum:fd_types', 'req'), (2, 'id', 'uint32', 'req'),
        (3, 'reg', 'reg_file_entry', 'opt'), (18, 'pipe', 'pipe_entry', 'opt'),
        (20, 'memfd', 'memfd_file_entry', 'opt')],
    'reg_file_entry': [
        (1, 'id', 'uint32', 'req'), (2, 'flags', 'uint32', 'req'), (3, 'pos', 'uint64', 'req'),
        (5, 'fown', 'fown_entry', 'req'), (6, 'name', 'string', 'req'),
        (7, 'mnt_id', 'sint32', 'opt'), (8, 'size', 'uint64', 'opt'), (9, 'ext', 'bool', 'opt'),
        (10, 'mode', 'uint32', 'opt'), (11, 'build_id', 'uint32', 'rep'),
        (12, 'checksum', 'uint32', 'opt'), (13, 'checksum_config', 'uint32', 'opt'),
        (14, 'checksum_parameter', 'uint32', 'opt')],
    'fown_entry': [(1, 'uid', 'uint32', 'req'), (2, 'euid', 'uint32', 'req'),
                   (3, 'signum', 'uint32', 'req'), (4, 'pid_type', 'uint32', 'req'),
                   (5, 'pid', 'uint32', 'req')],
    'pipe_entry': [(1, 'id', 'uint32', 'req'), (2, 'pipe_id', 'uint32', 'req'),
                   (3, 'flags', 'uint32', 'req'), (4, 'fown', 'fown_entry', 'req')],
    'remap_file_path_entry': [(1, 'orig_id', 'uint32', 'req'), (2, 'remap_id', 'uint32', 'req'),
                              (3, 'remap_type', 'enum:remap_type', 'opt')],
    'fdinfo_entry': [(1, 'id', 'uint32', 'req'), (2, 'flags', 'uint32', 'req'),
                     (3, 'type', 'enum:fd_types', 'req'), (4, 'fd', 'uint32', 'req'),
                     (5, 'xattr_security_selinux', 'string', 'opt')],
    'fs_entry': [(1, 'cwd_id', 'uint32', 'req'), (2, 'root_id', 'uint32', 'req'),
                 (3, 'umask', 'uint32', 'opt')],
    # §2.7
    'memfd_file_entry': [
        (1, 'id', 'uint32', 'req'), (2, 'flags', 'uint32', 'req'), (3, 'pos', 'uint64', 'req'),
        (4, 'fown', 'fown_entry', 'req'), (5, 'inode_id', 'uint32', 'req')],
    'memfd_inode_entry': [
        (1, 'name', 'string', 'req'), (2, 'uid', 'uint32', 'req'), (3, 'gid', 'uint32', 'req'),
        (4, 'size', 'uint64', 'req'), (5, 'shmid', 'uint32', 'req'), (6, 'seals', 'uint32', 'req'),
        (7, 'inode_id', 'uint64', 'req'), (8, 'hugetlb_flag', 'uint32', 'opt'),
        (9, 'mode', 'uint32', 'opt')],
    'ipc_shm_entry': [(1, 'desc', 'ipc_desc_entry', 'req'), (2, 'size', 'uint64', 'req'),
                      (3, 'in_pagemaps', 'bool', 'opt'), (4, 'hugetlb_flag', 'uint32', 'opt')],
    'ipc_desc_entry': [(1, 'key', 'uint32', 'req'), (2, 'uid', 'uint32', 'req'),
                       (3, 'gid', 'uint32', 'req'), (4, 'cuid', 'uint32', 'req'),
                       (5, 'cgid', 'uint32', 'req'), (6, 'mode', 'uint32', 'req'),
                       (7, 'id', 'uint32', 'req')],
    'ipc_var_entry': [(1, 'sem_ctls', 'uint32', 'rep')] + [
        (i, n, t, 'req') for i, n, t in [
            (2, 'msg_ctlmax', 'uint32'), (3, 'msg_ctlmnb', 'uint32'), (4, 'msg_ctlmni', 'uint32'),
            (5, 'auto_msgmni', 'uint32'), (6, 'shm_ctlmax', 'uint64'), (7, 'shm_ctlall', 'uint64'),
            (8, 'shm_ctlmni', 'uint32'), (9, 'shm_rmid_forced', 'uint32'),
            (10, 'mq_queues_max', 'uint32'), (11, 'mq_msg_max', 'uint32'),
            (12, 'mq_msgsize_max', 'uint32')]] + [
        (i, n, 'uint32', 'opt') for i, n in [
            (13, 'mq_msg_default'), (14, 'mq_msgsize_default'), (15, 'msg_next_id'),
            (16, 'sem_next_id'), (17, 'shm_next_id')]],
    'pipe_data_entry': [(1, 'pipe_id', 'uint32', 'req'), (2, 'bytes', 'uint32', 'req'),
                        (3, 'size', 'uint32', 'opt')],
    # §2.9
    'seccomp_entry': [(1, 'seccomp_filters', 'seccomp_filter', 'rep')],
    'seccomp_filter': [(1, 'filter', 'bytes', 'req'), (2, 'prev', 'uint32', 'opt'),
                       (3, 'flags', 'uint32', 'opt')],
    'timens_entry': [(1, 'monotonic', 'timespec', 'req'), (2, 'boottime', 'timespec', 'req')],
    'timespec': [(1, 'tv_sec', 'uint64', 'req'), (2, 'tv_nsec', 'uint64', 'req')],
    'utsns_entry': [(1, 'nodename', 'string', 'req'), (2, 'domainname', 'string', 'req')],
    # CRIU images/netdev.proto (2cf8f13). tun/macvlan/sit links are not generated.
    'net_device_entry': [
        (1, 'type', 'enum:nd_type', 'req'), (2, 'ifindex', 'uint32', 'req'),
        (3, 'mtu', 'uint32', 'req'), (4, 'flags', 'uint32', 'req'),
        (5, 'name', 'string', 'req'), (7, 'address', 'bytes', 'opt'),
        (8, 'conf', 'int32', 'rep'), (9, 'conf4', 'sysctl_entry', 'rep'),
        (10, 'conf6', 'sysctl_entry', 'rep'), (12, 'peer_ifindex', 'uint32', 'opt'),
        (13, 'peer_nsid', 'uint32', 'opt'), (14, 'master', 'uint32', 'opt')],
    # CRIU images/sysctl.proto: type 1 CTL_STR, 2 CTL_32
    'sysctl_entry': [(1, 'type', 'uint32', 'req'), (2, 'iarg', 'int32', 'opt'),
                     (3, 'sarg', 'string', 'opt')],
    'netns_id': [(1, 'target_ns_id', 'uint32', 'req'), (2, 'netnsid_value', 'int32', 'req')],
    'netns_entry': [
        (1, 'def_conf', 'int32', 'rep'), (2, 'all_conf', 'int32', 'rep'),
        (3, 'def_conf4', 'sysctl_entry', 'rep'), (4, 'all_conf4', 'sysctl_entry', 'rep'),
        (5, 'def_conf6', 'sysctl_entry', 'rep'), (6, 'all_conf6', 'sysctl_entry', 'rep'),
        (7, 'nsids', 'netns_id', 'rep'), (8, 'ext_key', 'string', 'opt'),
        (9, 'unix_conf', 'sysctl_entry', 'rep'), (10, 'ipv4_sysctl', 'sysctl_entry', 'rep')],
    # CRIU images/cgroup.proto (2cf8f13)
    'cgroup_perms': [(1, 'mode', 'uint32', 'req'), (2, 'uid', 'uint32', 'req'),
                     (3, 'gid', 'uint32', 'req')],
    'cgroup_prop_entry': [(1, 'name', 'string', 'req'), (2, 'value', 'string', 'req'),
                          (3, 'perms', 'cgroup_perms', 'opt')],
    'cgroup_dir_entry': [(1, 'dir_name', 'string', 'req'),
                         (2, 'children', 'cgroup_dir_entry', 'rep'),
                         (3, 'properties', 'cgroup_prop_entry', 'rep'),
                         (4, 'dir_perms', 'cgroup_perms', 'opt')],
    'cg_controller_entry': [(1, 'cnames', 'string', 'rep'), (2, 'dirs', 'cgroup_dir_entry', 'rep'),
                            (3, 'is_threaded', 'bool', 'opt')],
    'cg_member_entry': [(1, 'name', 'string', 'req'), (2, 'path', 'string', 'req'),
                        (3, 'cgns_prefix', 'uint32', 'opt')],
    'cg_set_entry': [(1, 'id', 'uint32', 'req'), (2, 'ctls', 'cg_member_entry', 'rep')],
    'cgroup_entry': [(1, 'sets', 'cg_set_entry', 'rep'),
                     (2, 'controllers', 'cg_controller_entry', 'rep')],
    # §4
    'stats_entry': [(1, 'dump', 'dump_stats_entry', 'opt'),
                    (2, 'restore', 'restore_stats_entry', 'opt')],
    'dump_stats_entry': [
        (1, 'freezing_time', 'uint32', 'req'), (2, 'frozen_time', 'uint32', 'req'),
        (3, 'memdump_time', 'uint32', 'req'), (4, 'memwrite_time', 'uint32', 'req'),
        (5, 'pages_scanned', 'uint64', 'req'), (6, 'pages_skipped_parent', 'uint64', 'req'),
        (7, 'pages_written', 'uint64', 'req'), (8, 'irmap_resolve', 'uint32', 'opt'),
        (9, 'pages_lazy', 'uint64', 'req'), (10, 'page_pipes', 'uint64', 'opt'),
        (11, 'page_pipe_bufs', 'uint64', 'opt'), (12, 'shpages_scanned', 'uint64', 'opt'),
        (13, 'shpages_skipped_parent', 'uint64', 'opt'), (14, 'shpages_written', 'uint64', 'opt')],
    'restore_stats_entry': [
        (1, 'pages_compared', 'uint64', 'req'), (2, 'pages_skipped_cow', 'uint64', 'req'),
        (3, 'forking_time', 'uint32', 'req'), (4, 'restore_time', 'uint32', 'req'),
        (5, 'pages_restored', 'uint64', 'opt')],
}

# protobuf-c emits fields in field-number order (its descriptors are sorted
# by number); sorting here lets the encoder reproduce CRIU's bytes exactly.
for _m in SCHEMA.values():
    _m.sort(key=lambda f: f[0])
FIELDS_BY_NAME = {m: {f[1]: f for f in fs} for m, fs in SCHEMA.items()}
FIELDS_BY_NUM = {m: {f[0]: f for f in fs} for m, fs in SCHEMA.items()}

# ---------------------------------------------------------------------------
# proto2 wire format (§1.5)
# ---------------------------------------------------------------------------

WT_VARINT, WT_FIXED64, WT_LEN, WT_FIXED32 = 0, 1, 2, 5
U64 = 1 << 64
INT_RANGES = {
    'uint32': (0, (1 << 32) - 1), 'uint64': (0, U64 - 1), 'int32': (-(1 << 31), (1 << 31) - 1),
    'int64': (-(1 << 63), (1 << 63) - 1), 'sint32': (-(1 << 31), (1 << 31) - 1),
    'sint64': (-(1 << 63), (1 << 63) - 1), 'bool': (0, 1), 'enum': (0, (1 << 31) - 1),
}


class MkimgError(Exception):
    """Bad spec, bad JSON or undecodable image: reported without a traceback."""


def varint(n):
    out = bytearray()
    while n > 0x7f:
        out.append((n & 0x7f) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def zigzag(n):
    return (n << 1) if n >= 0 else ((-n) << 1) - 1


def unzigzag(n):
    return (n >> 1) if not n & 1 else -((n + 1) >> 1)


def parse_int(v, where='value', enum=None):
    """Accept ints, bools, "0x..", decimal strings, "" (crit's empty flag set),
    enum names and "A | B" flag names (crit's rendering)."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str):
        s = v.strip()
        if enum is not None and s in ENUMS[enum]:
            return ENUMS[enum][s]
        if s == '':
            return 0
        total = 0
        for part in s.split('|'):
            p = part.strip()
            if p in FLAG_NAMES:
                total |= FLAG_NAMES[p]
                continue
            try:
                total |= int(p, 0)
            except ValueError:
                raise MkimgError('%s: cannot parse %r as a number' % (where, v)) from None
        return total
    raise MkimgError('%s: expected a number, got %r' % (where, v))


def _b64(data):
    return base64.b64encode(data).decode('ascii')


def _bytes_value(v, where):
    # bytes fields are base64 in JSON, as pycriu prints them; {"hex": ".."} also accepted
    if isinstance(v, dict) and 'hex' in v:
        return bytes.fromhex(v['hex'])
    if isinstance(v, str):
        return base64.b64decode(v)
    raise MkimgError('%s: expected base64 string for bytes field' % where)


def _encode_scalar(typ, v, where):
    base = 'enum' if typ.startswith('enum:') else typ
    if base in ('string', 'bytes'):
        if base == 'string' and isinstance(v, str):
            data = v.encode('utf-8')
        elif base == 'string' and isinstance(v, dict) and 'bytes_b64' in v:
            data = base64.b64decode(v['bytes_b64'])   # non-UTF-8 string, see decode
        else:
            data = _bytes_value(v, where)
        return WT_LEN, varint(len(data)) + data
    n = parse_int(v, where, typ[5:] if base == 'enum' else None)
    lo, hi = INT_RANGES[base]
    if not lo <= n <= hi:
        raise MkimgError('%s: %d out of range for %s' % (where, n, typ))
    if base in ('sint32', 'sint64'):
        n = zigzag(n)
    elif n < 0:
        n += U64     # int32/int64 negatives are 10-byte sign-extended varints (§1.5)
    return WT_VARINT, varint(n)


def encode_message(mname, d, where=None):
    """Encode dict d as message mname. Required fields missing from d get their
    zero/default value (protobuf-c always emits them, §1.5); a key present with
    value null is left out even if required (for deliberately broken images)."""
    where = where or mname
    if not isinstance(d, dict):
        raise MkimgError('%s: expected an object, got %r' % (where, d))
    byname = FIELDS_BY_NAME[mname]
    for k in d:
        if k not in byname and k not in ('_unknown', 'extra'):
            raise MkimgError('%s: unknown field %r' % (where, k))
    parts = []
    for f in SCHEMA[mname]:
        num, name, typ, label = f[:4]
        fw = '%s.%s' % (where, name)
        if name in d:
            v = d[name]
            if v is None:
                continue
        elif label == 'req':
            v = f[4] if len(f) > 4 else ({} if typ in SCHEMA else
                                         '' if typ in ('string', 'bytes') else 0)
        else:
            continue
        if name == 'task_state' and isinstance(v, str) and v in CRIT_TASK_STATE:
            v = CRIT_TASK_STATE[v]
        values = v if label == 'rep' else [v]
        if label == 'rep' and not isinstance(v, list):
            raise MkimgError('%s: repeated field needs a list' % fw)
        for i, item in enumerate(values):
            iw = '%s[%d]' % (fw, i) if label == 'rep' else fw
            if typ in SCHEMA:
                body = encode_message(typ, item, iw)
                parts.append((num, varint(num << 3 | WT_LEN) + varint(len(body)) + body))
            else:
                wt, body = _encode_scalar(typ, item, iw)
                parts.append((num, varint(num << 3 | wt) + body))
    for u in d.get('_unknown', []):
        parts.append((u['field'], _encode_unknown(u)))
    parts.sort(key=lambda p: p[0])     # stable: keeps repeated elements in order
    return b''.join(p[1] for p in parts)


def _encode_unknown(u):
    num, wt = u['field'], u['wire']
    tag = varint(num << 3 | wt)
    if wt == WT_VARINT:
        return tag + varint(parse_int(u['value']))
    if wt == WT_FIXED64:
        return tag + struct.pack('<Q', parse_int(u['value']))
    if wt == WT_FIXED32:
        return tag + struct.pack('<I', parse_int(u['value']))
    data = bytes.fromhex(u['hex'])
    return tag + varint(len(data)) + data


class _Reader:
    def __init__(self, buf, where):
        self.buf, self.pos, self.where = buf, 0, where

    def varint(self):
        n = shift = 0
        while True:
            if self.pos >= len(self.buf):
                raise MkimgError('%s: truncated varint at byte %d' % (self.where, self.pos))
            b = self.buf[self.pos]
            self.pos += 1
            n |= (b & 0x7f) << shift
            if not b & 0x80:
                return n & (U64 - 1)
            shift += 7
            if shift > 63:
                raise MkimgError('%s: varint longer than 10 bytes' % self.where)

    def take(self, n):
        if self.pos + n > len(self.buf):
            raise MkimgError('%s: field of %d bytes overruns message at byte %d'
                             % (self.where, n, self.pos))
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        return out


def _decode_scalar(typ, wt, raw, hexout):
    base = 'enum' if typ.startswith('enum:') else typ
    if base == 'string':
        try:
            return raw.decode('utf-8')
        except UnicodeDecodeError:
            return {'bytes_b64': _b64(raw)}
    if base == 'bytes':
        return _b64(raw)
    n = raw
    if base in ('sint32', 'sint64'):
        return unzigzag(n)
    if base in ('int32', 'int64') and n >= 1 << 63:
        return n - U64
    if base == 'bool':
        return bool(n)
    if base == 'enum':
        return ENUM_NAMES[typ[5:]].get(n, n)
    if hexout and base == 'uint64':
        return '%#x' % n
    return n


def decode_message(mname, buf, where=None, hexout=False):
    """Generic proto2 decoder keyed by SCHEMA; mname None decodes every field
    as unknown. Unknown fields are kept under "_unknown" so that encoding the
    result gives the same bytes back."""
    where = where or (mname or 'message')
    r = _Reader(bytes(buf), where)
    bynum = FIELDS_BY_NUM.get(mname, {})
    out = {}
    while r.pos < len(r.buf):
        key = r.varint()
        num, wt = key >> 3, key & 7
        if num == 0:
            raise MkimgError('%s: field number 0 at byte %d' % (where, r.pos))
        if wt == WT_VARINT:
            raw = r.varint()
        elif wt == WT_FIXED64:
            raw = struct.unpack('<Q', r.take(8))[0]
        elif wt == WT_FIXED32:
            raw = struct.unpack('<I', r.take(4))[0]
        elif wt == WT_LEN:
            raw = r.take(r.varint())
        else:
            raise MkimgError('%s: unsupported wire type %d at byte %d' % (where, wt, r.pos))
        f = bynum.get(num)
        if f is None:
            u = {'field': num, 'wire': wt}
            if wt == WT_LEN:
                u['hex'] = raw.hex()
            else:
                u['value'] = raw
            out.setdefault('_unknown', []).append(u)
            continue
        _, name, typ, label = f[:4]
        fw = '%s.%s' % (where, name)
        if typ in SCHEMA:
            if wt != WT_LEN:
                raise MkimgError('%s: sub-message with wire type %d' % (fw, wt))
            vals = [decode_message(typ, raw, fw, hexout)]
        elif wt == WT_LEN and typ not in ('string', 'bytes'):
            # packed repeated scalars: never written by CRIU, accepted anyway (§1.5)
            pr = _Reader(raw, fw)
            vals = []
            while pr.pos < len(raw):
                vals.append(_decode_scalar(typ, WT_VARINT, pr.varint(), hexout))
        else:
            vals = [_decode_scalar(typ, wt, raw, hexout)]
        if label == 'rep':
            out.setdefault(name, []).extend(vals)
        else:
            out[name] = vals[-1]
    return out

# ---------------------------------------------------------------------------
# Image files (§1.2-§1.4)
# ---------------------------------------------------------------------------


def _u32(n):
    # Framing words are host order (§1.1); every target we emulate is little-endian.
    return struct.pack('<I', n)


def _kind_info(name):
    """(magic, entry message, options) for a kind name or a "0x..." magic."""
    if name in KINDS:
        return KINDS[name]
    try:
        magic = parse_int(name)
    except MkimgError:
        raise MkimgError('unknown image kind %r' % name) from None
    kind = MAGIC_TO_KIND.get(magic)
    return KINDS[kind] if kind else (magic, None, {})


class ImageWriter:
    """Writes the magic words, then one u32-length-prefixed message per add()."""

    def __init__(self, path, kind, prefix=None):
        magic, self.msg, opts = _kind_info(kind)
        self.head = opts.get('head')
        if prefix is None:
            prefix = ('none' if opts.get('noprefix') else
                      'service' if opts.get('service') else 'common')
        self.f = open(path, 'wb')
        if prefix != 'none':
            self.f.write(_u32(IMG_SERVICE_MAGIC if prefix == 'service' else IMG_COMMON_MAGIC))
        self.f.write(_u32(magic))
        self.count = 0

    def add(self, entry, extra=b''):
        mname = self.head if (self.head and self.count == 0) else self.msg
        if mname is None:
            body = encode_message('_generic', entry)
        else:
            body = encode_message(mname, entry, '%s[%d]' % (mname, self.count))
        self.f.write(_u32(len(body)) + body + extra)
        self.count += 1

    def close(self):
        self.f.close()


SCHEMA['_generic'] = []          # schema-less messages: every field is "_unknown"
FIELDS_BY_NAME['_generic'] = {}
FIELDS_BY_NUM['_generic'] = {}


def _default_prefix(kind):
    opts = KINDS[kind][2] if kind in KINDS else {}
    return 'none' if opts.get('noprefix') else 'service' if opts.get('service') else 'common'


def read_image(path, hexout=False):
    """Decode one image file into {"magic": KIND, "entries": [...]} (pycriu's shape)."""
    base = os.path.basename(path)
    if base.startswith('pages-') and base.endswith('.img'):
        raise MkimgError("'%s': pages-*.img is a raw image without header (§1.7)" % path)
    with open(path, 'rb') as f:
        data = f.read()
    if len(data) < 4:
        raise MkimgError("'%s': %d bytes, too short for a magic" % (path, len(data)))
    pos = 4
    word = struct.unpack_from('<I', data, 0)[0]
    prefix = 'none'
    if word in (IMG_COMMON_MAGIC, IMG_SERVICE_MAGIC):
        if len(data) < 8:
            raise MkimgError("'%s': prefix magic without image magic" % path)
        prefix = 'common' if word == IMG_COMMON_MAGIC else 'service'
        word = struct.unpack_from('<I', data, 4)[0]
        pos = 8
    kind = MAGIC_TO_KIND.get(word)
    msg, opts = (KINDS[kind][1], KINDS[kind][2]) if kind else (None, {})
    doc = {'magic': kind or '%#x' % word}
    if kind is None or prefix != _default_prefix(kind):
        doc['prefix'] = prefix
    entries = []
    while pos < len(data):
        if pos + 4 > len(data):
            raise MkimgError("'%s': offset %d (%#x): truncated entry length"
                             % (path, pos, pos))
        size = struct.unpack_from('<I', data, pos)[0]
        if pos + 4 + size > len(data):
            raise MkimgError("'%s': offset %d (%#x): entry of %d bytes, only %d left"
                             % (path, pos, pos, size, len(data) - pos - 4))
        mname = opts.get('head') if (opts.get('head') and not entries) else msg
        where = "'%s' entry %d" % (base, len(entries))
        e = decode_message(mname, data[pos + 4:pos + 4 + size], where, hexout)
        pos += 4 + size
        extra_len = _extra_len(opts.get('extra'), e)
        if extra_len is not None:
            if pos + extra_len > len(data):
                raise MkimgError("'%s': extra data of %d bytes truncated" % (path, extra_len))
            e['extra'] = _b64(data[pos:pos + extra_len])
            pos += extra_len
        entries.append(e)
    doc['entries'] = entries
    return doc


def _extra_len(kind, e):
    # §1.4: blobs that follow some entries, sized by a field of that entry
    if kind == 'bytes':
        return parse_int(e.get('bytes', 0))
    if kind == 'ipc_shm':
        return 0 if e.get('in_pagemaps') else (parse_int(e.get('size', 0)) + 3) & ~3
    return None


def write_image_doc(doc, path):
    """Inverse of read_image; also accepts crit/pycriu JSON (names, hex strings)."""
    if not isinstance(doc, dict) or 'magic' not in doc or 'entries' not in doc:
        raise MkimgError('image JSON needs "magic" and "entries"')
    w = ImageWriter(path, doc['magic'], doc.get('prefix'))
    try:
        for e in doc['entries']:
            extra = e.get('extra') or ''
            w.add(e, base64.b64decode(extra) if extra else b'')
    finally:
        w.close()


# ---------------------------------------------------------------------------
# Spec helpers
# ---------------------------------------------------------------------------

STYLES = ('criu4', 'criu3', 'criu3-old')
TASK_STATES = {'alive': 1, 'zombie': 2, 'dead': 2, 'stopped': 3}   # §2.2.2 C values
INF = U64 - 1                                                      # RLIM_INFINITY


def check_keys(d, allowed, where):
    if not isinstance(d, dict):
        raise MkimgError('%s: expected an object' % where)
    for k in d:
        if k not in allowed and not k.startswith('#') and k != 'comment':
            raise MkimgError('%s: unknown key %r (allowed: %s)'
                             % (where, k, ', '.join(sorted(allowed))))


def deep_merge(dst, src):
    """Overlay src onto dst; dicts merge recursively, anything else replaces.
    null values are kept (encode_message then omits the field)."""
    for k, v in (src or {}).items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            deep_merge(dst[k], v)
        else:
            dst[k] = v
    return dst


def parse_prot(v, where):
    # "rwx" style (as in /proc/pid/maps) or a number / PROT_* names
    if isinstance(v, str) and len(v) == 3 and set(v) <= set('rwx-'):
        return ((PROT_READ if v[0] == 'r' else 0) | (PROT_WRITE if v[1] == 'w' else 0) |
                (PROT_EXEC if v[2] == 'x' else 0))
    return parse_int(v, where)


def parse_pe_flags(v, where):
    """None means "auto" (decided per VMA like CRIU does, §2.5)."""
    if v is None or v == 'auto':
        return None
    names = {'present': PE_PRESENT, 'lazy': PE_LAZY, 'parent': PE_PARENT}
    if isinstance(v, list):
        return sum(names.get(x, None) or parse_int(x, where) for x in v)
    if isinstance(v, str):
        total = 0
        for part in v.split('|'):
            p = part.strip()
            total |= names[p.lower()] if p.lower() in names else parse_int(p, where)
        return total
    return parse_int(v, where)


def hex_bytes(v, size, where):
    data = bytes.fromhex(v.replace(' ', '')) if isinstance(v, str) else bytes(v)
    if len(data) > size:
        raise MkimgError('%s: %d bytes given, register holds %d' % (where, len(data), size))
    return data.ljust(size, b'\0')


def put_reg_words(arr, index, data, word_bytes):
    """Store one register's bytes (memory order) into an array of LE words."""
    n = len(data) // word_bytes
    fmt = '<%d%s' % (n, 'I' if word_bytes == 4 else 'Q')
    arr[index * n:(index + 1) * n] = list(struct.unpack(fmt, data))


def reg_map(v, where):
    """{"3": hex} or [hex, ...] -> [(index, hex)]"""
    if isinstance(v, dict):
        return [(parse_int(k, where), x) for k, x in v.items()]
    if isinstance(v, list):
        return list(enumerate(v))
    raise MkimgError('%s: expected a list or an object of registers' % where)


# ---------------------------------------------------------------------------
# Memory contents
# ---------------------------------------------------------------------------

MARKER_HEAD = 64     # bytes reserved at the start of a marker page for the text


def marker_page(label, addr, tag, ps):
    """Deterministic page: NUL-terminated "C2C <label>=<addr>[ tag=..]" (so a
    test can x/s it), then the page's own address as LE u64 words."""
    text = 'C2C %s=%#x' % (label, addr) + (' tag=%s' % tag if tag else '')
    head = text.encode() + b'\0'
    head = head.ljust(max(MARKER_HEAD, (len(head) + 7) & ~7), b'\0')
    return head + struct.pack('<Q', addr) * ((ps - len(head)) // 8)


class Content:
    """Where the bytes of one memory item come from; pages are produced one at
    a time so that huge items never sit in memory."""

    KEYS = ('marker', 'tag', 'fill', 'zero', 'text', 'hex', 'base64', 'file',
            'file_offset', 'data_offset')

    def __init__(self, d, ps, base_dir, where):
        self.ps, self.where = ps, where
        self.tag = d.get('tag')
        kinds = [k for k in ('fill', 'zero', 'text', 'hex', 'base64', 'file') if k in d]
        if len(kinds) > 1:
            raise MkimgError('%s: more than one content source: %s' % (where, kinds))
        self.kind = kinds[0] if kinds else 'marker'
        self.data = None
        self.data_offset = parse_int(d.get('data_offset', 0), where)
        if self.kind == 'fill':
            self.fill = bytes([parse_int(d['fill'], where) & 0xff]) * ps
        elif self.kind in ('text', 'hex', 'base64'):
            v = d[self.kind]
            self.data = (v.encode() if self.kind == 'text' else
                         bytes.fromhex(v.replace(' ', '')) if self.kind == 'hex' else
                         base64.b64decode(v))
        elif self.kind == 'file':
            path = d['file']
            self.path = path if os.path.isabs(path) else os.path.join(base_dir, path)
            self.file_offset = parse_int(d.get('file_offset', 0), where)
            try:
                self.file_size = os.path.getsize(self.path)
            except OSError as e:
                raise MkimgError("%s: '%s': %s" % (where, self.path, e.strerror)) from None
            self.fh = None

    def default_pages(self):
        if self.kind in ('text', 'hex', 'base64'):
            return max(1, -(-(self.data_offset + len(self.data)) // self.ps))
        if self.kind == 'file':
            return max(1, -(-(self.data_offset + self.file_size - self.file_offset) // self.ps))
        return 1

    def page(self, idx, label, addr):
        ps = self.ps
        if self.kind == 'marker':
            return marker_page(label, addr, self.tag, ps)
        if self.kind == 'fill':
            return self.fill
        if self.kind == 'zero':
            return bytes(ps)
        lo = idx * ps - self.data_offset      # data-relative byte range [lo, end) of the page
        end = lo + ps
        if end <= 0:
            return bytes(ps)
        start = max(lo, 0)
        if self.kind == 'file':
            if self.fh is None:
                self.fh = open(self.path, 'rb')
            self.fh.seek(self.file_offset + start)
            chunk = self.fh.read(end - start)
        else:
            chunk = self.data[start:end]
        return (bytes(start - lo) + chunk).ljust(ps, b'\0')


class Item:
    """One "memory" element: a page range plus content and pagemap flags."""

    KEYS = ('vaddr', 'offset', 'pages', 'flags', 'merge', 'force', 'run_pages',
            'zero_fraction') + Content.KEYS

    def __init__(self, d, gen, where, addr_key):
        check_keys(d, self.KEYS, where)
        if addr_key not in d:
            raise MkimgError('%s: "%s" is required' % (where, addr_key))
        self.where = where
        self.addr = parse_int(d[addr_key], where)
        self.content = Content(d, gen.ps, gen.base_dir, where)
        self.n = parse_int(d['pages'], where) if 'pages' in d else self.content.default_pages()
        self.flags = parse_pe_flags(d.get('flags'), where)
        self.merge = bool(d.get('merge', gen.merge))
        self.force = bool(d.get('force', False))
        self.run_pages = parse_int(d.get('run_pages', 0), where)
        self.zero_fraction = float(d.get('zero_fraction', 0))
        if self.content.data is not None and \
                self.content.data_offset + len(self.content.data) > self.n * gen.ps:
            raise MkimgError('%s: data does not fit in %d pages' % (where, self.n))
        if gen.strict and self.addr % gen.ps:
            raise MkimgError('%s: address %#x is not page aligned' % (where, self.addr))
        if self.n <= 0:
            raise MkimgError('%s: needs at least one page' % where)

    def runs(self):
        """(first page, count) of the runs that are dumped. With run_pages R and
        zero_fraction F, the range is cut into runs of R pages and an evenly
        spread fraction F of them is left out (never-touched, reads as zero)."""
        if not self.run_pages:
            yield 0, self.n
            return
        r, f = self.run_pages, self.zero_fraction
        for i in range(-(-self.n // r)):
            if int(round((i + 1) * f, 9)) - int(round(i * f, 9)) > 0:
                continue
            first = i * r
            yield first, min(r, self.n - first)

    def retarget(self, addr):
        """Same content, other address (a shared mapping's page lives in a
        shmem object at its object offset, §2.7)."""
        clone = Item.__new__(Item)
        clone.__dict__.update(self.__dict__)
        clone.addr = addr
        return clone


# ---------------------------------------------------------------------------
# VMAs
# ---------------------------------------------------------------------------

RW, R_, RX = PROT_READ | PROT_WRITE, PROT_READ, PROT_READ | PROT_EXEC
# kind -> (status, flags, prot, fdflags or None) — the combinations CRIU 4.2
# writes for each kind of mapping (§2.4 "Sample status values"; shmem fixture).
VMA_KINDS = {
    'anon': (VMA_AREA_REGULAR | VMA_ANON_PRIVATE, MAP_PRIVATE | MAP_ANONYMOUS, RW, None),
    'heap': (VMA_AREA_REGULAR | VMA_AREA_HEAP | VMA_ANON_PRIVATE,
             MAP_PRIVATE | MAP_ANONYMOUS, RW, None),
    'stack': (VMA_AREA_REGULAR | VMA_ANON_PRIVATE,
              MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, RW, None),
    'file-private': (VMA_AREA_REGULAR | VMA_FILE_PRIVATE, MAP_PRIVATE, R_, 0),
    'file-shared': (VMA_AREA_REGULAR | VMA_FILE_SHARED, MAP_SHARED, RW, 2),
    'vdso': (VMA_AREA_REGULAR | VMA_AREA_VDSO | VMA_ANON_PRIVATE,
             MAP_PRIVATE | MAP_ANONYMOUS, RX, None),
    'vvar': (VMA_AREA_REGULAR | VMA_ANON_PRIVATE | VMA_AREA_VVAR,
             MAP_PRIVATE | MAP_ANONYMOUS, R_, None),
    'vsyscall': (VMA_AREA_VSYSCALL | VMA_ANON_PRIVATE, MAP_PRIVATE | MAP_ANONYMOUS,
                 PROT_EXEC, None),
    'memfd-shared': (VMA_AREA_REGULAR | VMA_FILE_SHARED | VMA_AREA_MEMFD, MAP_SHARED, RW, 2),
    'memfd-private': (VMA_AREA_REGULAR | VMA_FILE_PRIVATE | VMA_AREA_MEMFD, MAP_PRIVATE, RW, 2),
    # v3.14+: MAP_SHARED|MAP_ANONYMOUS is dumped as a memfd named /dev/zero (§2.4)
    'anon-shared': (VMA_AREA_REGULAR | VMA_FILE_SHARED | VMA_AREA_MEMFD, MAP_SHARED, RW, 2),
    'anon-shared-legacy': (VMA_AREA_REGULAR | VMA_ANON_SHARED, MAP_SHARED | MAP_ANONYMOUS,
                           RW, None),
    'sysv': (VMA_AREA_REGULAR | VMA_ANON_SHARED | VMA_AREA_SYSVIPC,
             MAP_SHARED | MAP_ANONYMOUS, RW, 2),
    'raw': (0, 0, 0, None),
}
VMA_KEYS = ('kind', 'start', 'end', 'size', 'pages', 'prot', 'path', 'file_id', 'pgoff',
            'memfd', 'shmid', 'madv', 'fdflags', 'flags', 'status', 'fd', 'legacy')
NEVER_DUMPED = VMA_FILE_SHARED | VMA_AREA_VVAR | VMA_AREA_VSYSCALL | VMA_AREA_SOCKET | \
    VMA_AREA_GUARD


class Vma:
    def __init__(self, entry, kind):
        self.e, self.kind = entry, kind
        self.start, self.end = parse_int(entry['start']), parse_int(entry['end'])
        self.status = parse_int(entry.get('status', 0))
        self.flags = parse_int(entry.get('flags', 0))
        self.prot = parse_int(entry.get('prot', 0))
        self.shm = None          # ShmObj whose pagemap receives this VMA's pages

    def target(self):
        """'task', 'shm' or 'never': where CRIU puts this VMA's pages (§2.5, §2.7)."""
        st = self.status
        if st & VMA_AREA_MEMFD:
            return 'shm' if self.flags & MAP_SHARED else 'task'
        if st & VMA_ANON_SHARED:
            return 'shm'
        if st & NEVER_DUMPED or not st:
            return 'never'
        return 'task'

    def lazy_ok(self):
        # §2.5 "Lazy pages": anonymous private, not vDSO/VVAR/VSYSCALL, not locked/hugetlb
        return (self.status & VMA_ANON_PRIVATE and
                not self.status & (VMA_AREA_VDSO | VMA_AREA_VVAR | VMA_AREA_VSYSCALL) and
                not self.flags & (MAP_LOCKED | MAP_HUGETLB))


class ShmObj:
    """A shared memory object with its own pagemap-shmem-<shmid>.img (§2.7)."""

    def __init__(self, shmid, kind, label):
        self.shmid, self.kind, self.label = shmid, kind, label
        self.size = 0
        self.pages_id = None
        self.items = {}          # dump index -> [Item]
        self.inode = None        # MemfdInodeEntry dict (memfd kind)
        self.ipc = None          # IpcShmEntry dict (sysv kind)
        self.declared_size = False


# ---------------------------------------------------------------------------
# Network images: netdev-<id>.img entries and the raw `ip addr save` /
# `ip route save` blobs CRIU stores as ifaddr-/route-/route6-<id>.img
# (criu/net.c dump_ifaddr, dump_route; no CRIU header, doc §1.3 "raw").
# ---------------------------------------------------------------------------

# iproute2 ip/ipaddress.c ipadd_dump_magic, ip/iproute.c route_dump_magic: the u32
# (host order) before the netlink messages, which follow as the kernel sent them.
IPADD_DUMP_MAGIC = 0x47361222
ROUTE_DUMP_MAGIC = 0x45311224
# include/uapi/linux/netlink.h, rtnetlink.h, if_addr.h
NLM_F_MULTI = 0x2
RTM_NEWADDR, RTM_NEWROUTE = 20, 24
IFA_ADDRESS, IFA_LOCAL, IFA_LABEL, IFA_BROADCAST = 1, 2, 3, 4
IFA_CACHEINFO, IFA_FLAGS, IFA_PROTO = 6, 8, 11
IFA_F_PERMANENT = 0x80
RT_SCOPES = {'global': 0, 'site': 200, 'link': 253, 'host': 254, 'nowhere': 255}
RTA_TABLE, RT_TABLE_MAIN = 15, 254
# include/uapi/linux/if.h, as ip-link(8) names them
IFF_NAMES = {'UP': 0x1, 'BROADCAST': 0x2, 'DEBUG': 0x4, 'LOOPBACK': 0x8, 'POINTOPOINT': 0x10,
             'NOTRAILERS': 0x20, 'RUNNING': 0x40, 'NOARP': 0x80, 'PROMISC': 0x100,
             'ALLMULTI': 0x200, 'MASTER': 0x400, 'SLAVE': 0x800, 'MULTICAST': 0x1000,
             'PORTSEL': 0x2000, 'AUTOMEDIA': 0x4000, 'DYNAMIC': 0x8000, 'LOWER_UP': 0x10000,
             'DORMANT': 0x20000, 'ECHO': 0x40000}
NETNS_KEYS = ('id', 'devices', 'addresses', 'ifaddr_file', 'routes', 'routes6', 'ext_key',
              'netns_entry')
NETDEV_KEYS = ('type', 'ifindex', 'mtu', 'flags', 'name', 'mac', 'address', 'conf', 'conf4',
               'conf6', 'peer_ifindex', 'peer_nsid', 'master')
IFADDR_KEYS = ('ifindex', 'address', 'prefixlen', 'peer', 'broadcast', 'label', 'scope',
               'flags', 'proto', 'cacheinfo', 'seq', 'pid')


def netdev_entry(d, where):
    """A NetDeviceEntry from a device spec: flags as names, "mac" as aa:bb:.. text."""
    check_keys(d, NETDEV_KEYS, where)
    e = {k: v for k, v in d.items() if k not in ('mac', 'flags')}
    typ = d.get('type', 'VETH')
    e['type'] = typ
    loop = typ in ('LOOPBACK', 1)
    fl = d.get('flags', ['UP', 'LOOPBACK', 'RUNNING', 'LOWER_UP'] if loop else
               ['UP', 'BROADCAST', 'RUNNING', 'MULTICAST', 'LOWER_UP'])
    if isinstance(fl, list):
        try:
            fl = sum(IFF_NAMES[n] for n in fl)
        except KeyError as k:
            raise MkimgError('%s.flags: unknown flag %s' % (where, k)) from None
    e['flags'] = parse_int(fl, where + '.flags')
    e.setdefault('mtu', 65536 if loop else 1500)
    e['ifindex'] = parse_int(d.get('ifindex', 1), where + '.ifindex')
    e.setdefault('name', 'lo' if loop else 'eth%d' % e['ifindex'])
    if 'mac' in d:
        e['address'] = {'hex': d['mac'].replace(':', '')}
    return e


def _rta(typ, data):
    n = 4 + len(data)
    return struct.pack('<HH', n, typ) + data + b'\0' * (-n % 4)     # RTA_ALIGN(4)


def _nlmsg(typ, payload, seq=0, pid=0):
    # struct nlmsghdr {u32 len; u16 type, flags; u32 seq, pid}: len counts the header
    return struct.pack('<IHHII', 16 + len(payload), typ, NLM_F_MULTI, seq, pid) + payload


def ifaddr_blob(addrs, names, where):
    """`ip addr save` output: the magic, then one RTM_NEWADDR per address with the
    attributes in the order the kernel puts them (net/ipv4/devinet.c inet_fill_ifaddr,
    net/ipv6/addrconf.c inet6_fill_ifaddr), checked against a real capture
    (tests/inspect/ifaddr-real.img)."""
    out = [_u32(IPADD_DUMP_MAGIC)]
    for i, a in enumerate(addrs):
        w = '%s[%d]' % (where, i)
        check_keys(a, IFADDR_KEYS, w)
        try:
            ip = ipaddress.ip_address(a['address'])
            peer = ipaddress.ip_address(a['peer']) if 'peer' in a else None
            brd = ipaddress.ip_address(a['broadcast']) if 'broadcast' in a else None
        except (KeyError, ValueError) as e:
            raise MkimgError('%s: bad or missing address: %s' % (w, e)) from None
        v4 = ip.version == 4
        ifindex = parse_int(a.get('ifindex', 1), w + '.ifindex')
        prefixlen = parse_int(a.get('prefixlen', 32 if v4 else 128), w + '.prefixlen')
        scope = a.get('scope', 'global')
        scope = RT_SCOPES[scope] if scope in RT_SCOPES else parse_int(scope, w + '.scope')
        flags = parse_int(a.get('flags', IFA_F_PERMANENT), w + '.flags')
        ci = a.get('cacheinfo', [0xffffffff, 0xffffffff, 0, 0])   # struct ifa_cacheinfo
        cache = _rta(IFA_CACHEINFO, struct.pack('<4I', *[parse_int(x, w) for x in ci]))
        attrs = b''
        if v4:
            attrs += _rta(IFA_ADDRESS, (peer or ip).packed) + _rta(IFA_LOCAL, ip.packed)
            if brd:
                attrs += _rta(IFA_BROADCAST, brd.packed)
            label = a.get('label', names.get(ifindex, ''))    # the kernel always has one
            if label:
                attrs += _rta(IFA_LABEL, label.encode() + b'\0')
            if 'proto' in a:
                attrs += _rta(IFA_PROTO, bytes([parse_int(a['proto'], w)]))
            attrs += _rta(IFA_FLAGS, struct.pack('<I', flags)) + cache
        else:
            if peer:
                attrs += _rta(IFA_LOCAL, ip.packed) + _rta(IFA_ADDRESS, peer.packed)
            else:
                attrs += _rta(IFA_ADDRESS, ip.packed)
            attrs += cache + _rta(IFA_FLAGS, struct.pack('<I', flags))
            if 'proto' in a:
                attrs += _rta(IFA_PROTO, bytes([parse_int(a['proto'], w)]))
        # struct ifaddrmsg {u8 family, prefixlen, flags, scope; u32 index}
        hdr = struct.pack('<BBBBI', 2 if v4 else 10, prefixlen, flags & 0xff, scope, ifindex)
        out.append(_nlmsg(RTM_NEWADDR, hdr + attrs, parse_int(a.get('seq', 0), w),
                          parse_int(a.get('pid', 0), w)))
    return b''.join(out)


def route_blob(n, family):
    """`ip route save` output with n routes of the main table (only counted by ckpt2core)."""
    # struct rtmsg {u8 family, dst_len, src_len, tos, table, protocol, scope, type; u32 flags}
    rt = struct.pack('<8BI', family, 0, 0, 0, RT_TABLE_MAIN, 2, 0, 1, 0)
    msg = _nlmsg(RTM_NEWROUTE, rt + _rta(RTA_TABLE, struct.pack('<I', RT_TABLE_MAIN)))
    return _u32(ROUTE_DUMP_MAGIC) + msg * n


# ---------------------------------------------------------------------------
# Generator
# ---------------------------------------------------------------------------

TOP_KEYS = ('style', 'page_size', 'strict', 'merge', 'lazy_pages', 'img_version',
            'files_format', 'inventory', 'inventory_raw', 'stats', 'stats_raw', 'files',
            'file_entries', 'memfds', 'memfd_inodes', 'sysv', 'processes', 'shmem',
            'predumps', 'images_dir', 'parent_link', 'parent_as_file', 'raw_images',
            'netns', 'cgroup')
PROC_KEYS = ('pid', 'ppid', 'pgid', 'sid', 'state', 'exit_code', 'stop_signo', 'comm',
             'flags', 'blk_sigset', 'personality', 'uid', 'gid', 'arch', 'exe', 'ids',
             'ids_raw', 'mm', 'mm_raw', 'vmas', 'memory', 'threads', 'fds', 'tc', 'pages_id',
             'cg_set')
THREAD_KEYS = ('tid', 'comm', 'regs', 'fpregs', 'xsave', 'fpsimd', 'tls', 'clear_tid_addr',
               'blk_sigset', 'creds', 'uid', 'gid', 'futex_rla', 'futex_rla_len',
               'sched_nice', 'sched_policy', 'sched_prio', 'rseq', 'sas', 'thread_info',
               'thread_core', 'core', 'core_raw')
PREDUMP_KEYS = ('name', 'memory', 'shmem', 'inventory', 'stats', 'raw_images', 'parent_link',
                'parent_as_file')
FILE_KEYS = ('path', 'id', 'size', 'mode', 'flags', 'pos', 'build_id', 'mnt_id', 'ext',
             'fown', 'checksum', 'checksum_config', 'checksum_parameter')
MEMFD_KEYS = ('name', 'key', 'size', 'shmid', 'inode_id', 'file_id', 'seals', 'mode', 'uid',
              'gid', 'flags', 'hugetlb_flag', 'memory', 'pages_id')
SYSV_KEYS = ('shmid', 'size', 'key', 'mode', 'uid', 'gid', 'cuid', 'cgid', 'memory', 'pages_id')

GPREGS_X86 = [f[1] for f in SCHEMA['user_x86_regs_entry'] if f[1] != 'mode']
REG_ALIASES = {'rax': 'ax', 'rbx': 'bx', 'rcx': 'cx', 'rdx': 'dx', 'rsi': 'si', 'rdi': 'di',
               'rbp': 'bp', 'rsp': 'sp', 'rip': 'ip', 'eflags': 'flags', 'orig_rax': 'orig_ax'}
# Root namespace ids as CRIU 4.2 assigns them (sleep fixture inventory, §1.9).
DEFAULT_NS_IDS = {'pid_ns_id': 1, 'net_ns_id': 2, 'ipc_ns_id': 3, 'uts_ns_id': 4,
                  'mnt_ns_id': 6, 'user_ns_id': 7, 'cgroup_ns_id': 8, 'time_ns_id': 5}
# RLIM_NLIMITS = 16 entries indexed by resource (§2.2.2); typical Linux defaults.
DEFAULT_RLIMITS = [(INF, INF), (INF, INF), (INF, INF), (8 << 20, INF), (0, INF), (INF, INF),
                   (63704, 63704), (1024, 1048576), (8 << 20, 8 << 20), (INF, INF),
                   (INF, INF), (63704, 63704), (819200, 819200), (0, 0), (0, 0), (INF, INF)]
N_SIGACTIONS = 62     # signals 1..64 without SIGKILL/SIGSTOP (§2.2.2 field 15)
SIGSTOP = 19          # x86_64/aarch64 signal number; default tc.stop_signo of a stopped task
PF_RANDOMIZE = 0x400000   # PF_* bit (Linux sched.h); the sample's tc.flags (§2.2.2)
ROBUST_LIST_HEAD_LEN = 24  # sizeof(struct robust_list_head) on 64-bit: thread_core.futex_rla_len
RSEQ_SIG_X86 = 0x53053053  # glibc's x86 RSEQ_SIG, rseq_entry.signature (fixture value)


class Proc:
    pass


class Dump:
    def __init__(self, name, spec):
        self.name, self.spec = name, spec
        self.task_items = {}     # pid -> [Item]


class Counters:
    def __init__(self):
        self.written = self.parent = self.lazy = 0
        self.sh_written = self.sh_parent = 0


class Generator:
    def __init__(self, spec, base_dir='.'):
        check_keys(spec, TOP_KEYS, 'spec')
        self.spec, self.base_dir = spec, base_dir
        self.style = spec.get('style', 'criu4')
        if self.style not in STYLES:
            raise MkimgError('spec.style: %r is not one of %s' % (self.style, ', '.join(STYLES)))
        self.ps = parse_int(spec.get('page_size', 4096), 'spec.page_size')
        if self.ps < 1024 or self.ps & (self.ps - 1):
            raise MkimgError('spec.page_size: %d is not a power of two >= 1024' % self.ps)
        self.strict = bool(spec.get('strict', True))
        self.merge = bool(spec.get('merge', True))
        self.lazy_pages = bool(spec.get('lazy_pages', False))
        self.img_version = parse_int(spec.get('img_version', 2), 'spec.img_version')
        self.prefix = 'none' if self.img_version == 1 else None     # §1.2 V1 images
        self.files_format = spec.get('files_format',
                                     'reg-files' if self.style == 'criu3-old' else 'files')
        if self.files_format not in ('files', 'reg-files'):
            raise MkimgError('spec.files_format: must be "files" or "reg-files"')

        # index of the final dump; earlier ones are pre-dumps (§2.6)
        self.final = len(spec.get('predumps', []))
        self.file_list, self.file_by_id, self.path_ids = [], {}, {}
        self.size_hint = {}
        self.shm, self.memfd_keys, self.memfd_by_file = {}, {}, {}
        for i, e in enumerate(spec.get('file_entries', [])):
            self._add_file_entry(dict(e), 'spec.file_entries[%d]' % i)
        for i, f in enumerate(spec.get('files', [])):
            self._declare_file(f, 'spec.files[%d]' % i)
        for i, inode in enumerate(spec.get('memfd_inodes', [])):
            self._raw_memfd_inode(inode, 'spec.memfd_inodes[%d]' % i)
        for i, m in enumerate(spec.get('memfds', [])):
            self._declare_memfd(m, 'spec.memfds[%d]' % i)
        for i, s in enumerate(spec.get('sysv', [])):
            self._declare_sysv(s, 'spec.sysv[%d]' % i)

        predumps = spec.get('predumps', [])
        self.dumps = []
        for i, p in enumerate(predumps):
            check_keys(p, PREDUMP_KEYS, 'spec.predumps[%d]' % i)
            self.dumps.append(Dump(p.get('name', 'pre%d' % (i + 1)), p))
        self.dumps.append(Dump(spec.get('images_dir', 'images'), spec))

        self.procs = []
        if not spec.get('processes'):
            raise MkimgError('spec.processes: at least one process is needed')
        for i, p in enumerate(spec['processes']):
            self.procs.append(self._parse_proc(p, i, 'spec.processes[%d]' % i))
        self._check_tree()
        by_pid = {p.pid: p for p in self.procs}
        for di, dump in enumerate(self.dumps):
            where = 'spec' if di == self.final else 'spec.predumps[%d]' % di
            if di == self.final:
                mem = {p.pid: p.spec.get('memory', []) for p in self.procs}
            else:
                mem = {}
                for k, v in dump.spec.get('memory', {}).items():
                    pid = parse_int(k, where + '.memory')
                    if pid not in by_pid:
                        raise MkimgError('%s.memory: no process with pid %d' % (where, pid))
                    mem[pid] = v
            for pid, items in mem.items():
                proc = by_pid[pid]
                if items and proc.zombie:
                    raise MkimgError('%s: zombie %d has no memory (§2.2)' % (where, pid))
                dump.task_items[pid] = self._route(proc, items, di, '%s.memory[pid %d]'
                                                   % (where, pid))
            for k, v in dump.spec.get('shmem', {}).items():
                self._shmem_items(parse_int(k, where + '.shmem'), v, di,
                                  '%s.shmem[%s]' % (where, k))

    # -- files ------------------------------------------------------------

    def _alloc_file_id(self):
        return max(self.file_by_id, default=0) + 1

    def _add_file_entry(self, e, where):
        fid = parse_int(e.get('id', 0), where)
        if fid in self.file_by_id:
            raise MkimgError('%s: file id %d used twice' % (where, fid))
        self.file_by_id[fid] = e
        self.file_list.append(e)
        if e.get('type') in ('REG', 1) and 'reg' in e:
            self.path_ids.setdefault(e['reg'].get('name'), fid)
        return fid

    def _declare_file(self, f, where, mode=0o100644):
        check_keys(f, FILE_KEYS, where)
        fid = parse_int(f['id'], where) if 'id' in f else self._alloc_file_id()
        reg = {'id': fid, 'flags': parse_int(f.get('flags', 0), where),
               'pos': parse_int(f.get('pos', 0), where),
               'fown': f.get('fown', {}), 'name': f['path'],
               'mode': parse_int(f.get('mode', mode), where)}
        for k in ('size', 'mnt_id', 'ext', 'build_id', 'checksum', 'checksum_config',
                  'checksum_parameter'):
            if k in f:
                reg[k] = f[k]
        self._add_file_entry({'type': 'REG', 'id': fid, 'reg': reg}, where)
        self.path_ids[f['path']] = fid
        return fid

    def file_id_for(self, path, mode=0o100644):
        if path not in self.path_ids:
            self._declare_file({'path': path}, 'file %s' % path, mode)
        return self.path_ids[path]

    # -- shared memory objects (§2.7) --------------------------------------

    def _alloc_shmid(self):
        # Real shmids are shmem inode numbers; start high to stay clear of
        # small SysV ids the spec gives explicitly.
        n = 0x1000
        while n in self.shm:
            n += 1
        return n

    def _new_shm(self, shmid, kind, where):
        if shmid in self.shm:
            raise MkimgError('%s: shmid %d used twice' % (where, shmid))
        obj = ShmObj(shmid, kind, 'shmid=%d off' % shmid)
        self.shm[shmid] = obj
        return obj

    def _raw_memfd_inode(self, inode, where):
        obj = self._new_shm(parse_int(inode['shmid'], where), 'memfd', where)
        obj.inode = dict(inode)
        obj.declared_size = True
        for e in self.file_list:
            if e.get('type') in ('MEMFD', 18) and \
                    parse_int(e['memfd']['inode_id']) == parse_int(inode['inode_id']):
                self.memfd_by_file[parse_int(e['id'])] = obj

    def _declare_memfd(self, m, where):
        check_keys(m, MEMFD_KEYS, where)
        name = m.get('name', 'c2c-memfd')
        key = m.get('key', name)
        if key in self.memfd_keys:
            raise MkimgError('%s: memfd key %r used twice (give "key")' % (where, key))
        shmid = parse_int(m['shmid'], where) if 'shmid' in m else self._alloc_shmid()
        obj = self._new_shm(shmid, 'memfd', where)
        used = {parse_int(o.inode['inode_id']) for o in self.shm.values() if o.inode}
        inode_id = parse_int(m['inode_id'], where) if 'inode_id' in m else \
            max(used, default=0) + 1
        fid = parse_int(m['file_id'], where) if 'file_id' in m else self._alloc_file_id()
        obj.size = parse_int(m.get('size', 0), where)
        obj.declared_size = 'size' in m
        obj.inode = {'name': name, 'uid': parse_int(m.get('uid', 0), where),
                     'gid': parse_int(m.get('gid', 0), where), 'size': obj.size,
                     'shmid': shmid, 'seals': parse_int(m.get('seals', 'F_SEAL_SEAL'), where),
                     'inode_id': inode_id}
        if 'hugetlb_flag' in m:
            obj.inode['hugetlb_flag'] = parse_int(m['hugetlb_flag'], where)
        if self.style != 'criu3-old':
            obj.inode['mode'] = parse_int(m.get('mode', 0o100777), where)    # v3.19 (§2.7)
        self._add_file_entry({'type': 'MEMFD', 'id': fid, 'memfd': {
            'id': fid, 'flags': parse_int(m.get('flags', 0), where), 'pos': 0, 'fown': {},
            'inode_id': inode_id}}, where)
        self.memfd_by_file[fid] = obj
        self.memfd_keys[key] = obj
        obj.file_id = fid
        if 'pages_id' in m:
            obj.pages_id = parse_int(m['pages_id'], where)
        if m.get('memory'):
            self._shmem_items(shmid, m['memory'], None, where + '.memory')
        return obj

    def _declare_sysv(self, s, where):
        check_keys(s, SYSV_KEYS, where)
        shmid = parse_int(s['shmid'], where) if 'shmid' in s else self._alloc_shmid()
        obj = self._new_shm(shmid, 'sysv', where)
        obj.size = parse_int(s.get('size', 0), where)
        obj.declared_size = 'size' in s
        desc = {k: parse_int(s.get(k, 0), where) for k in ('key', 'uid', 'gid', 'cuid', 'cgid')}
        desc['mode'] = parse_int(s.get('mode', 0o600), where)
        desc['id'] = shmid
        obj.ipc = {'desc': desc, 'size': obj.size, 'in_pagemaps': True}
        if 'pages_id' in s:
            obj.pages_id = parse_int(s['pages_id'], where)
        if s.get('memory'):
            self._shmem_items(shmid, s['memory'], None, where + '.memory')
        return obj

    def _shmem_items(self, shmid, v, dump_idx, where):
        """Items given directly by object offset ("shmem" maps, memfd/sysv "memory")."""
        dump_idx = self.final if dump_idx is None else dump_idx
        if isinstance(v, dict):
            check_keys(v, ('pages_id', 'memory'), where)
            if 'pages_id' in v:
                self._shm_get(shmid).pages_id = parse_int(v['pages_id'], where)
            v = v.get('memory', [])
        obj = self._shm_get(shmid)
        lst = obj.items.setdefault(dump_idx, [])
        for i, d in enumerate(v):
            lst.append(Item(d, self, '%s[%d]' % (where, i), 'offset'))

    def _shm_get(self, shmid):
        # a bare object only writes pagemap-shmem-<shmid>.img (legacy anon shared)
        return self.shm.get(shmid) or self._new_shm(shmid, 'anon', 'shmem %d' % shmid)

    # -- processes ---------------------------------------------------------

    def _parse_proc(self, p, index, where):
        check_keys(p, PROC_KEYS, where)
        proc = Proc()
        proc.spec, proc.index, proc.where = p, index, where
        proc.pid = parse_int(p['pid'], where + '.pid')
        root_pid = parse_int(self.spec['processes'][0]['pid'])
        proc.ppid = parse_int(p.get('ppid', 0 if index == 0 else root_pid), where)
        proc.pgid = parse_int(p.get('pgid', root_pid), where)
        proc.sid = parse_int(p.get('sid', root_pid), where)
        st = p.get('state', 'alive')
        proc.state = TASK_STATES[st] if st in TASK_STATES else parse_int(st, where + '.state')
        proc.zombie = proc.state == 2
        proc.comm = p.get('comm', 'c2c-%d' % proc.pid)
        proc.arch = p.get('arch', 'x86_64')
        if proc.arch not in ('x86_64', 'aarch64', 'riscv64', 'arm', 'ppc64le', 's390x'):
            raise MkimgError('%s.arch: only x86_64, aarch64, riscv64, arm, ppc64le and s390x '
                             'can be generated' % where)
        proc.uid = parse_int(p.get('uid', 0), where)
        proc.gid = parse_int(p.get('gid', 0), where)
        threads = p.get('threads', [{'tid': proc.pid}])
        proc.threads = [t if isinstance(t, dict) else {'tid': t} for t in threads]
        for i, t in enumerate(proc.threads):
            check_keys(t, THREAD_KEYS, '%s.threads[%d]' % (where, i))
        proc.tids = [parse_int(t['tid'], where) for t in proc.threads]
        if self.strict and not proc.zombie and proc.pid not in proc.tids:
            raise MkimgError('%s: the leader tid %d is not among the threads' % (where, proc.pid))
        proc.vmas = []
        if proc.zombie and (p.get('vmas') or p.get('mm') or p.get('mm_raw')):
            raise MkimgError('%s: a zombie has no mm (§2.2)' % where)
        for i, v in enumerate(p.get('vmas', [])):
            proc.vmas.append(self._parse_vma(proc, v, '%s.vmas[%d]' % (where, i)))
        proc.sorted_vmas = sorted(proc.vmas, key=lambda v: v.start)
        proc.starts = [v.start for v in proc.sorted_vmas]
        if self.strict:
            proc.vmas = proc.sorted_vmas
            for a, b in zip(proc.sorted_vmas, proc.sorted_vmas[1:]):
                if b.start < a.end:
                    raise MkimgError('%s: VMAs %#x-%#x and %#x-%#x overlap'
                                     % (where, a.start, a.end, b.start, b.end))
        proc.pages_id = parse_int(p['pages_id'], where) if 'pages_id' in p else None
        return proc

    def _check_tree(self):
        pids = [p.pid for p in self.procs]
        if len(set(pids)) != len(pids):
            raise MkimgError('spec.processes: duplicate pid')
        tids = [t for p in self.procs if not p.zombie for t in p.tids]
        if len(set(tids)) != len(tids):
            raise MkimgError('spec.processes: a tid appears twice (core-<tid>.img names clash)')
        if self.strict:
            for p in self.procs[1:]:
                if p.ppid not in pids:
                    raise MkimgError('%s: parent %d is not in the tree' % (p.where, p.ppid))

    def _parse_vma(self, proc, d, where):
        check_keys(d, VMA_KEYS, where)
        kind = d.get('kind', 'anon')
        if kind == 'anon-shared' and d.get('legacy', self.style == 'criu3-old'):
            kind = 'anon-shared-legacy'
        if kind not in VMA_KINDS:
            raise MkimgError('%s: unknown kind %r (known: %s)'
                             % (where, kind, ', '.join(VMA_KINDS)))
        status, flags, prot, fdflags = VMA_KINDS[kind]
        if 'start' in d:
            start = parse_int(d['start'], where)
        elif kind == 'vsyscall':
            start = 0xffffffffff600000       # fixed x86_64 vsyscall page (§2.4 sample)
        else:
            raise MkimgError('%s: "start" is required' % where)
        if 'end' in d:
            end = parse_int(d['end'], where)
        elif 'size' in d:
            end = start + parse_int(d['size'], where)
        elif 'pages' in d:
            end = start + parse_int(d['pages'], where) * self.ps
        elif kind == 'vsyscall':
            end = start + 0x1000
        else:
            raise MkimgError('%s: give "end", "size" or "pages"' % where)
        if self.strict and (start % self.ps or end % self.ps or end <= start):
            raise MkimgError('%s: bad range %#x-%#x' % (where, start, end))
        pgoff = parse_int(d.get('pgoff', 0), where)
        length = end - start
        obj, shmid = None, 0
        if kind in ('file-private', 'file-shared'):
            if 'file_id' in d:
                shmid = parse_int(d['file_id'], where)
            elif 'path' in d:
                shmid = self.file_id_for(d['path'])
            else:
                raise MkimgError('%s: a %s VMA needs "path" or "file_id"' % (where, kind))
            self.size_hint[shmid] = max(self.size_hint.get(shmid, 0), pgoff + length)
        elif kind in ('memfd-shared', 'memfd-private', 'anon-shared'):
            key = d.get('memfd')
            if key is not None:
                if key not in self.memfd_keys:
                    raise MkimgError('%s: no memfd with key %r in spec.memfds' % (where, key))
                obj = self.memfd_keys[key]
            elif kind == 'anon-shared':
                obj = self._declare_memfd({'name': '/dev/zero', 'key': where,
                                           'size': pgoff + length}, where)
            else:
                raise MkimgError('%s: a %s VMA needs "memfd"' % (where, kind))
            shmid = obj.file_id       # the VMA names the memfd *file*, §2.4 shmid table
        elif kind in ('anon-shared-legacy', 'sysv'):
            sid = parse_int(d['shmid'], where) if 'shmid' in d else self._alloc_shmid()
            obj = self.shm.get(sid)
            if obj is None:
                obj = (self._declare_sysv({'shmid': sid}, where) if kind == 'sysv'
                       else self._new_shm(sid, 'anon', where))
            shmid = sid
        if obj is not None and not obj.declared_size:
            obj.size = max(obj.size, pgoff + length)
        e = {'start': start, 'end': end, 'pgoff': pgoff, 'shmid': shmid, 'prot': prot,
             'flags': flags, 'status': status, 'fd': -1}
        if kind == 'vvar':
            e['madv'] = MADV_DONTDUMP_BIT     # §2.4 sample: VVAR carries DONTDUMP
        if fdflags is not None:
            e['fdflags'] = fdflags
        for k in ('shmid', 'flags', 'status', 'fd', 'madv', 'fdflags'):
            if k in d:
                e[k] = parse_int(d[k], where + '.' + k)
        if 'prot' in d:
            e['prot'] = parse_prot(d['prot'], where + '.prot')
        v = Vma(e, kind)
        if obj is None and v.target() == 'shm':
            # raw VMAs: find the object the status/shmid pair names
            v.shm = (self.memfd_by_file.get(e['shmid']) if v.status & VMA_AREA_MEMFD
                     else self.shm.get(e['shmid']))
        else:
            v.shm = obj
        return v

    # -- memory routing ----------------------------------------------------

    def find_vma(self, proc, addr):
        i = bisect.bisect_right(proc.starts, addr) - 1
        if i >= 0 and addr < proc.sorted_vmas[i].end:
            return proc.sorted_vmas[i]
        return None

    def vma_cover(self, proc, addr, npages):
        """Split [addr, addr + npages pages) at VMA boundaries: [(vma|None, start, end)]."""
        out, a, end = [], addr, addr + npages * self.ps
        while a < end:
            v = self.find_vma(proc, a)
            if v is not None:
                stop = min(v.end, end)
            else:
                i = bisect.bisect_right(proc.starts, a)
                stop = min(proc.starts[i], end) if i < len(proc.starts) else end
            out.append((v, a, stop))
            a = stop
        return out

    def _route(self, proc, items, dump_idx, where):
        """Task items stay; items inside a shared mapping move to its object."""
        task = []
        for i, d in enumerate(items):
            it = Item(d, self, '%s[%d]' % (where, i), 'vaddr')
            if it.force:
                task.append(it)
                continue
            cover = self.vma_cover(proc, it.addr, it.n)
            targets = {v.target() if v else None for v, _, _ in cover}
            if targets == {'task'}:
                task.append(it)
            elif targets == {'shm'} and len(cover) == 1 and cover[0][0].shm is not None:
                v = cover[0][0]
                off = it.addr - v.start + parse_int(v.e['pgoff'])
                v.shm.items.setdefault(dump_idx, []).append(it.retarget(off))
            elif not self.strict:
                task.append(it)
            elif None in targets:
                raise MkimgError('%s: pages at %#x are outside every VMA (use "force")'
                                 % (it.where, it.addr))
            elif 'never' in targets:
                raise MkimgError('%s: CRIU never dumps pages of this kind of VMA (§2.5); '
                                 'use "force" to write them anyway' % it.where)
            else:
                raise MkimgError('%s: item mixes private and shared VMAs or spans several '
                                 'shared ones, or the shared object is unknown' % it.where)
        return task

    def auto_flags(self, vma):
        if vma is not None and vma.target() == 'task' and vma.lazy_ok():
            return PE_LAZY if self.lazy_pages else PE_LAZY | PE_PRESENT
        return PE_PRESENT

    def task_segments(self, proc, items):
        """Yield (vaddr, pages, flags, item, first page in item) in pagemap order,
        lazily, so that huge synthetic items are never expanded in memory."""
        if self.strict:
            items = sorted(items, key=lambda it: it.addr)
        for it in items:
            for first, count in it.runs():
                a = it.addr + first * self.ps
                if it.flags is not None or it.force:
                    yield a, count, PE_PRESENT if it.flags is None else it.flags, it, first
                    continue
                for v, s, e in self.vma_cover(proc, a, count):
                    yield s, (e - s) // self.ps, self.auto_flags(v), it, \
                        first + (s - a) // self.ps

    def shm_segments(self, items):
        if self.strict:
            items = sorted(items, key=lambda it: it.addr)
        for it in items:
            for first, count in it.runs():
                yield it.addr + first * self.ps, count, \
                    PE_PRESENT if it.flags is None else it.flags, it, first

    # -- pagemap / pages (§2.5) --------------------------------------------

    def pagemap_entry(self, vaddr, n, flags, where):
        if self.style == 'criu4':       # v4.2: count in field 5, field 2 written as 0
            return {'vaddr': vaddr, 'compat_nr_pages': 0, 'flags': flags, 'nr_pages': n}
        if n >= 1 << 32:
            raise MkimgError('%s: %d pages do not fit compat_nr_pages (uint32)' % (where, n))
        if self.style == 'criu3':       # v3.5 .. v4.1: count in field 2, flags field 4
            return {'vaddr': vaddr, 'compat_nr_pages': n, 'flags': flags}
        # criu3-old (<= v3.4): no flags field; only parent holes carry in_parent
        if flags & PE_PARENT and not flags & PE_PRESENT:
            return {'vaddr': vaddr, 'compat_nr_pages': n, 'in_parent': True}
        if flags & PE_PRESENT:
            return {'vaddr': vaddr, 'compat_nr_pages': n}
        raise MkimgError('%s: style criu3-old cannot express pagemap flags %#x' % (where, flags))

    def write_pagemap(self, dirpath, name, pages_id, segments, label, counters, shm):
        pm = ImageWriter(os.path.join(dirpath, name), 'PAGEMAP', self.prefix)
        pm.add({'pages_id': pages_id})
        ps = self.ps
        where = "'%s'" % name
        cur = None                 # [vaddr, pages, flags, mergeable]
        last_end = None
        with open(os.path.join(dirpath, 'pages-%d.img' % pages_id), 'wb',
                  buffering=1 << 20) as pf:
            for vaddr, n, flags, item, first in segments:
                if self.strict and last_end is not None and vaddr < last_end:
                    raise MkimgError('%s: page %#x overlaps an earlier item' % (item.where, vaddr))
                last_end = vaddr + n * ps
                if (cur and item.merge and cur[3] and cur[2] == flags and
                        cur[0] + cur[1] * ps == vaddr):
                    cur[1] += n            # CRIU merges contiguous same-flag pages (§2.5)
                else:
                    if cur:
                        pm.add(self.pagemap_entry(cur[0], cur[1], cur[2], where))
                    cur = [vaddr, n, flags, item.merge]
                if flags & PE_PRESENT:
                    for i in range(n):
                        pf.write(item.content.page(first + i, label, vaddr + i * ps))
                if shm:
                    if flags & PE_PRESENT:
                        counters.sh_written += n
                    elif flags & PE_PARENT:
                        counters.sh_parent += n
                elif flags & PE_PRESENT:
                    counters.written += n
                elif flags & PE_PARENT:
                    counters.parent += n
                elif flags & PE_LAZY:
                    counters.lazy += n
            if cur:
                pm.add(self.pagemap_entry(cur[0], cur[1], cur[2], where))
        pm.close()

    # -- per-process images ------------------------------------------------

    def build_creds(self, proc, t):
        uid = parse_int(t.get('uid', proc.uid))
        gid = parse_int(t.get('gid', proc.gid))
        # 41 capabilities (CAP_LAST_CAP = 40): low word all ones, high word 0x1ff
        full = [0xffffffff, 0x1ff]
        caps = full if uid == 0 else [0, 0]
        creds = {'uid': uid, 'gid': gid, 'euid': uid, 'egid': gid, 'suid': uid, 'sgid': gid,
                 'fsuid': uid, 'fsgid': gid, 'cap_inh': [0, 0], 'cap_prm': caps,
                 'cap_eff': caps, 'cap_bnd': full, 'secbits': 0}
        return deep_merge(creds, t.get('creds'))

    def default_ip_sp(self, proc, tidx):
        ip = next((v.start for v in proc.vmas if v.prot & PROT_EXEC and
                   not v.status & (VMA_AREA_VDSO | VMA_AREA_VSYSCALL)), 0)
        stack = next((v for v in proc.vmas if v.kind == 'stack' or
                      (v.flags & MAP_GROWSDOWN)), None)
        sp = max(stack.start, stack.end - 0x100 - tidx * 0x1000) if stack else 0
        return ip, sp

    def build_fpregs(self, t, where):
        f = t.get('fpregs', {})
        check_keys(f, ('cwd', 'swd', 'twd', 'fop', 'rip', 'rdp', 'mxcsr', 'mxcsr_mask',
                       'st_space', 'xmm_space', 'st', 'xmm', 'ymm', 'zmm'), where)
        # FNINIT/SSE reset state: FCW 0x37f, MXCSR 0x1f80; mask as on the fixtures' CPU
        fp = {'cwd': 0x37f, 'swd': 0, 'twd': 0, 'fop': 0, 'rip': 0, 'rdp': 0,
              'mxcsr': 0x1f80, 'mxcsr_mask': 0x2ffff}
        for k in list(fp):
            if k in f:
                fp[k] = parse_int(f[k], where + '.' + k)
        st = [parse_int(x) for x in f.get('st_space', [0] * 32)]
        xmm = [parse_int(x) for x in f.get('xmm_space', [0] * 64)]
        xs = t.get('xsave', {})
        if xs is not False:
            check_keys(xs, ('xstate_bv', 'ymmh_space', 'ymmh', 'bndreg_state', 'bndcsr_state',
                            'opmask_reg', 'opmask', 'zmm_upper', 'hi16_zmm', 'pkru', 'cet',
                            'avx512'), where + '.xsave')
        else:
            xs = {}
        ymmh = [parse_int(x) for x in xs.get('ymmh_space', [0] * 64)]
        opmask = [parse_int(x) for x in xs.get('opmask_reg', xs.get('opmask', [0] * 8))]
        zmmu = [parse_int(x) for x in xs.get('zmm_upper', [0] * 64)]
        hi16 = [parse_int(x) for x in xs.get('hi16_zmm', [0] * 128)]
        bv = 0x3                                  # x87 + SSE (§2.2.1 component bits)
        avx512 = bool(xs.get('avx512')) or any(k in xs for k in ('opmask_reg', 'opmask',
                                                                  'zmm_upper', 'hi16_zmm'))
        if 'ymmh_space' in xs:
            bv |= 0x4
        for i, v in reg_map(f.get('st', []), where + '.st'):
            put_reg_words(st, i, hex_bytes(v, 16, where + '.st'), 4)
        for i, v in reg_map(f.get('xmm', []), where + '.xmm'):
            put_reg_words(xmm, i, hex_bytes(v, 16, where + '.xmm'), 4)
        for i, v in reg_map(xs.get('ymmh', []), where + '.ymmh'):
            put_reg_words(ymmh, i, hex_bytes(v, 16, where + '.ymmh'), 4)
            bv |= 0x4
        for i, v in reg_map(f.get('ymm', []), where + '.ymm'):
            b = hex_bytes(v, 32, where + '.ymm')
            put_reg_words(xmm, i, b[:16], 4)
            put_reg_words(ymmh, i, b[16:], 4)
            bv |= 0x4
        for i, v in reg_map(f.get('zmm', []), where + '.zmm'):
            b = hex_bytes(v, 64, where + '.zmm')
            if i < 16:     # ZMM0-15 = XMM | YMM_Hi128 | ZMM_Hi256 (components 1, 2, 6)
                put_reg_words(xmm, i, b[:16], 4)
                put_reg_words(ymmh, i, b[16:32], 4)
                put_reg_words(zmmu, i, b[32:], 8)
            else:          # ZMM16-31 live entirely in Hi16_ZMM (component 7)
                put_reg_words(hi16, i - 16, b, 8)
            bv |= 0x4
            avx512 = True
        if avx512:
            bv |= 0xe0                          # OPMASK | ZMM_Hi256 | Hi16_ZMM
        fp['st_space'], fp['xmm_space'] = st, xmm
        if t.get('xsave') is False:
            return fp
        x = {'xstate_bv': bv, 'ymmh_space': ymmh}
        if avx512:
            x.update(opmask_reg=opmask, zmm_upper=zmmu, hi16_zmm=hi16)
        for k in ('bndreg_state', 'bndcsr_state'):
            if k in xs:
                x[k] = xs[k]
        if 'pkru' in xs:
            x['pkru'] = [parse_int(xs['pkru']), 0]     # PKRU + 4 pad bytes (§2.2.1)
            x['xstate_bv'] |= 0x200
        if 'cet' in xs:
            x['cet'] = xs['cet']
        if 'xstate_bv' in xs:
            x['xstate_bv'] = parse_int(xs['xstate_bv'])
        fp['xsave'] = x
        return fp

    def build_thread_info(self, proc, t, tidx, where):
        ip, sp = self.default_ip_sp(proc, tidx)
        regs_in = t.get('regs', {})
        if proc.arch == 'aarch64':
            regs = {'regs': [0] * 31, 'sp': sp, 'pc': ip, 'pstate': 0}
            for k, v in regs_in.items():
                if k.startswith('x') and k[1:].isdigit() and int(k[1:]) < 31:
                    regs['regs'][int(k[1:])] = parse_int(v, where)
                elif k in ('sp', 'pc', 'pstate'):
                    regs[k] = parse_int(v, where)
                elif k == 'regs':
                    regs['regs'] = [parse_int(x, where) for x in v]
                else:
                    raise MkimgError('%s.regs: unknown aarch64 register %r' % (where, k))
            fps = t.get('fpsimd', {})
            vregs = [parse_int(x) for x in fps.get('vregs', [0] * 64)]
            for i, v in reg_map(fps.get('v', []), where + '.fpsimd.v'):
                put_reg_words(vregs, i, hex_bytes(v, 16, where), 8)    # V<n> = vregs[2n..2n+1]
            ti = {'clear_tid_addr': parse_int(t.get('clear_tid_addr', 0)),
                  'tls': parse_int(t.get('tls', 0)), 'gpregs': regs,
                  'fpsimd': {'vregs': vregs, 'fpsr': parse_int(fps.get('fpsr', 0)),
                             'fpcr': parse_int(fps.get('fpcr', 0))}}
            return 'ti_aarch64', deep_merge(ti, t.get('thread_info'))
        if proc.arch == 'arm':
            # §2.2.4: thread_info_arm, 32-bit registers; fpstate = user_vfp (d0-d31, fpscr)
            names = [f[1] for f in SCHEMA['user_arm_regs_entry']]
            regs = {n: 0 for n in names}
            regs.update(pc=ip, sp=sp, cpsr=0x10)          # USR mode
            for k, v in regs_in.items():
                if k not in regs:
                    raise MkimgError('%s.regs: unknown arm register %r' % (where, k))
                regs[k] = parse_int(v, where)
            fps = t.get('fpsimd', {})
            check_keys(fps, ('d', 'fpscr', 'fpexc', 'fpinst', 'fpinst2'), where + '.fpsimd')
            d = [parse_int(x) for x in fps.get('d', [0] * 32)]
            if len(d) != 32:
                raise MkimgError('%s.fpsimd.d: %d values, VFPv3-D32 has 32' % (where, len(d)))
            ti = {'clear_tid_addr': parse_int(t.get('clear_tid_addr', 0)),
                  'tls': parse_int(t.get('tls', 0)), 'gpregs': regs,
                  'fpstate': {'vfp_regs': d, 'fpscr': parse_int(fps.get('fpscr', 0)),
                              'fpexc': parse_int(fps.get('fpexc', 0)),
                              'fpinst': parse_int(fps.get('fpinst', 0)),
                              'fpinst2': parse_int(fps.get('fpinst2', 0))}}
            return 'ti_arm', deep_merge(ti, t.get('thread_info'))
        if proc.arch == 's390x':
            return 'ti_s390', deep_merge(self.s390_thread_info(t, ip, sp, where),
                                         t.get('thread_info'))
        if proc.arch == 'ppc64le':
            return 'ti_ppc64', deep_merge(self.ppc64_thread_info(t, ip, sp, where),
                                          t.get('thread_info'))
        if proc.arch == 'riscv64':
            # §2.2.4: gpregs in user_regs_struct order, fpsimd = the D extension state
            names = [f[1] for f in SCHEMA['user_riscv64_regs_entry']]
            regs = {n: 0 for n in names}
            regs.update(pc=ip, sp=sp)
            for k, v in regs_in.items():
                if k not in regs:
                    raise MkimgError('%s.regs: unknown riscv64 register %r' % (where, k))
                regs[k] = parse_int(v, where)
            fps = t.get('fpsimd', {})
            check_keys(fps, ('f', 'fcsr'), where + '.fpsimd')
            f = [parse_int(x) for x in fps.get('f', [0] * 32)]
            if len(f) != 32:
                raise MkimgError('%s.fpsimd.f: %d values, riscv64 has 32' % (where, len(f)))
            # CRIU stores the thread pointer twice: gpregs.tp and tls
            ti = {'clear_tid_addr': parse_int(t.get('clear_tid_addr', 0)),
                  'tls': parse_int(t.get('tls', regs['tp'])), 'gpregs': regs,
                  'fpsimd': {'f': f, 'fcsr': parse_int(fps.get('fcsr', 0))}}
            return 'ti_riscv64', deep_merge(ti, t.get('thread_info'))
        regs = {n: 0 for n in GPREGS_X86}
        # user-mode selectors and IF set: what any live x86_64 task has (§2.2.1 sample)
        regs.update(cs=0x33, ss=0x2b, flags=0x202, ip=ip, sp=sp, mode='NATIVE')
        for k, v in regs_in.items():
            name = REG_ALIASES.get(k, k)
            if name == 'mode':
                regs['mode'] = v.upper() if isinstance(v, str) else parse_int(v)
            elif name in regs:
                regs[name] = parse_int(v, '%s.regs.%s' % (where, k))
            else:
                raise MkimgError('%s.regs: unknown x86_64 register %r' % (where, k))
        # three GDT TLS slots 12..14, empty (§2.2.1 user_desc_t; sample values)
        tls = t.get('tls', [{'entry_number': 12 + i, 'base_addr': 0, 'limit': 0,
                             'seg_32bit': False, 'contents_h': False, 'contents_l': False,
                             'read_exec_only': True, 'limit_in_pages': False,
                             'seg_not_present': True, 'usable': False} for i in range(3)])
        ti = {'clear_tid_addr': parse_int(t.get('clear_tid_addr', 0)), 'gpregs': regs,
              'fpregs': self.build_fpregs(t, where), 'tls': tls}
        return 'thread_info', deep_merge(ti, t.get('thread_info'))

    def s390_thread_info(self, t, ip, sp, where):
        """§2.2.4 thread_info_s390 as CRIU 4.x writes it (criu/arch/s390/crtools.c):
        gpregs = s390_regs (psw, gprs, acrs, orig_gpr2) and the system call number,
        fpregs = fpc, f0-f15. Registers come as pr_reg words (desc.json: a0-a15 are
        the access registers); system_call is not in a core, 0 unless given."""
        regs = {'psw_mask': 0x0705000180000000, 'psw_addr': ip, 'gprs': [0] * 16,
                'acrs': [0] * 16, 'orig_gpr2': 0, 'system_call': 0}
        regs['gprs'][15] = sp
        for k, v in t.get('regs', {}).items():
            if k in ('pswm', 'pswa'):
                regs['psw_mask' if k == 'pswm' else 'psw_addr'] = parse_int(v, where)
            elif k[0] in 'ra' and k[1:].isdigit() and int(k[1:]) < 16:
                regs['gprs' if k[0] == 'r' else 'acrs'][int(k[1:])] = parse_int(v, where)
            elif k in regs:
                regs[k] = parse_int(v, where)
            else:
                raise MkimgError('%s.regs: unknown s390x register %r' % (where, k))
        fps = t.get('fpsimd', {})
        check_keys(fps, ('fpc', 'f', 'vxrs_low', 'vxrs_high'), where + '.fpsimd')
        f = [parse_int(x) for x in fps.get('f', [0] * 16)]
        if len(f) != 16:
            raise MkimgError('%s.fpsimd.f: %d values, s390x has 16' % (where, len(f)))
        ti = {'clear_tid_addr': parse_int(t.get('clear_tid_addr', 0)), 'gpregs': regs,
              'fpregs': {'fpc': parse_int(fps.get('fpc', 0)), 'fprs': f}}
        # vxrs_low: doubleword 1 of v0-v15; vxrs_high: v16-v31, regs[2n] the high half
        for k, n in (('vxrs_low', 16), ('vxrs_high', 32)):
            if k in fps:
                w = [parse_int(x) for x in fps[k]]
                if len(w) != n:
                    raise MkimgError('%s.fpsimd.%s: %d values, not %d' % (where, k, len(w), n))
                ti[k] = {'regs': w}
        return ti

    def ppc64_thread_info(self, t, ip, sp, where):
        """§2.2.4 thread_info_ppc64 as CRIU 4.x writes it (criu/arch/ppc64/crtools.c):
        gpregs from pt_regs (r0-r31, nip, msr, orig_gpr3, ctr, link, xer, ccr, trap),
        fpstate = fpr0-31 + fpscr, vrstate = vr0-31 and VSCR as the two 64-bit words
        of each vector128 in memory order + vrsave, vsxstate = doubleword 1 of
        VSR0-31; CRIU sets MSR_VEC / MSR_VSX in the saved msr when it saved those."""
        names = [f[1] for f in SCHEMA['user_ppc64_regs_entry']][1:]
        regs = {'gpr': [0] * 32}
        regs.update({n: 0 for n in names})
        regs['gpr'][1] = sp
        regs['nip'] = ip
        for k, v in t.get('regs', {}).items():
            if k.startswith('r') and k[1:].isdigit() and int(k[1:]) < 32:
                regs['gpr'][int(k[1:])] = parse_int(v, where)
            elif k in regs:
                regs[k] = parse_int(v, where)
            elif k not in ('softe', 'dar', 'dsisr', 'result'):     # pt_regs words CRIU drops
                raise MkimgError('%s.regs: unknown ppc64 register %r' % (where, k))
        fps = t.get('fpsimd', {})
        check_keys(fps, ('fpr', 'vr', 'vscr', 'vrsave', 'vsx'), where + '.fpsimd')
        ti = {'clear_tid_addr': parse_int(t.get('clear_tid_addr', 0)), 'gpregs': regs}
        if 'fpr' in fps:
            fpr = [parse_int(x) for x in fps['fpr']]
            if len(fpr) != 33:
                raise MkimgError('%s.fpsimd.fpr: %d values, not 33 (fpr0-31, fpscr)'
                                 % (where, len(fpr)))
            ti['fpstate'] = {'fpregs': fpr}
        if 'vr' in fps:
            if len(fps['vr']) != 32:
                raise MkimgError('%s.fpsimd.vr: %d values, not 32' % (where, len(fps['vr'])))
            words = []
            for v in fps['vr'] + [int(parse_int(fps.get('vscr', 0))).to_bytes(16, 'little').hex()]:
                b = hex_bytes(v, 16, where)
                words += [int.from_bytes(b[:8], 'little'), int.from_bytes(b[8:], 'little')]
            ti['vrstate'] = {'vrregs': words, 'vrsave': parse_int(fps.get('vrsave', 0))}
            regs['msr'] |= 1 << 25                                   # MSR_VEC
        if 'vsx' in fps:
            vsx = [parse_int(x) for x in fps['vsx']]
            if len(vsx) != 32:
                raise MkimgError('%s.fpsimd.vsx: %d values, not 32' % (where, len(vsx)))
            ti['vsxstate'] = {'vsxregs': vsx}
            regs['msr'] |= 1 << 23                                   # MSR_VSX
        return ti

    def build_tc(self, proc):
        p = proc.spec
        tc = {'task_state': proc.state, 'exit_code': parse_int(p.get('exit_code', 0)),
              'personality': parse_int(p.get('personality', 0)),
              'flags': parse_int(p.get('flags', 0 if proc.zombie else PF_RANDOMIZE)),
              'blk_sigset': parse_int(p.get('blk_sigset', 0)), 'comm': proc.comm}
        if not proc.zombie:
            # what CRIU 4.2 writes for every live leader (sleep fixture, §2.2.2)
            zero = {'isec': 0, 'iusec': 0, 'vsec': 0, 'vusec': 0}
            tc.update({
                'timers': {'real': dict(zero), 'virt': dict(zero), 'prof': dict(zero)},
                'rlimits': {'rlimits': [{'cur': c, 'max': m} for c, m in DEFAULT_RLIMITS]},
                'signals_s': {}, 'loginuid': 0xffffffff, 'oom_score_adj': 0,
                'sigactions': [{'sigaction': 0, 'flags': 0, 'restorer': 0, 'mask': 0,
                                'compat_sigaction': False}] * N_SIGACTIONS,
                'child_subreaper': False})
            if proc.state == 3:
                tc['stop_signo'] = parse_int(p.get('stop_signo', SIGSTOP))
        return deep_merge(tc, p.get('tc'))

    def build_core(self, proc, t, tidx, where):
        if 'core_raw' in t:
            return t['core_raw']
        mtype = {'aarch64': 'AARCH64', 'riscv64': 'RISCV64', 'arm': 'ARM',
                 'ppc64le': 'PPC64', 's390x': 'S390'}.get(proc.arch, 'X86_64')
        leader = parse_int(t['tid']) == proc.pid
        core = {'mtype': mtype}
        if proc.zombie:                 # mtype + tc only (§2.2)
            core['tc'] = self.build_tc(proc)
            return deep_merge(core, t.get('core'))
        key, ti = self.build_thread_info(proc, t, tidx, where)
        core[key] = ti
        if leader:
            core['tc'] = self.build_tc(proc)
        tcore = {'futex_rla': parse_int(t.get('futex_rla', 0)),
                 'futex_rla_len': parse_int(t.get('futex_rla_len', ROBUST_LIST_HEAD_LEN)),
                 'sched_nice': parse_int(t.get('sched_nice', 0)),
                 'sched_policy': parse_int(t.get('sched_policy', 0)),
                 'sas': deep_merge({'ss_sp': 0, 'ss_size': 0, 'ss_flags': 2}, t.get('sas')),
                 'signals_p': {}, 'creds': self.build_creds(proc, t)}
        if 'sched_prio' in t:
            tcore['sched_prio'] = parse_int(t['sched_prio'])
        if not leader:                  # the leader's mask is tc.blk_sigset (§2.2.3)
            tcore['blk_sigset'] = parse_int(t.get('blk_sigset', 0))
        if self.style != 'criu3-old':   # per-thread comm since v3.11
            tcore['comm'] = t.get('comm', proc.comm)
        if 'rseq' in t:
            r = t['rseq']
            # 32 = sizeof(struct rseq) as registered by glibc (fixture value)
            tcore['rseq_entry'] = deep_merge({'rseq_abi_pointer': 0, 'rseq_abi_size': 32,
                                              'signature': RSEQ_SIG_X86}, r)
        if 'cg_set' in proc.spec:       # per thread since CRIU 3.18 (§2.2.2 field 9)
            tcore['cg_set'] = parse_int(proc.spec['cg_set'], proc.where + '.cg_set')
        deep_merge(tcore, t.get('thread_core'))
        core['thread_core'] = tcore
        return deep_merge(core, t.get('core'))

    def build_ids(self, proc):
        if 'ids_raw' in proc.spec:
            return proc.spec['ids_raw']
        n = proc.index + 2          # 1 is CRIU's own set (inventory.root_ids, §1.9)
        ids = {'vm_id': n, 'files_id': n, 'fs_id': n, 'sighand_id': n}
        ids.update(DEFAULT_NS_IDS)
        return deep_merge(ids, proc.spec.get('ids'))

    def build_auxv(self, proc, spec_auxv):
        if isinstance(spec_auxv, list):
            return [parse_int(x) for x in spec_auxv]       # raw words, verbatim
        pairs = {}
        vdso = next((v for v in proc.vmas if v.status & VMA_AREA_VDSO), None)
        if vdso:
            pairs['AT_SYSINFO_EHDR'] = vdso.start
        pairs.update({'AT_PAGESZ': self.ps, 'AT_CLKTCK': 100, 'AT_UID': proc.uid,
                      'AT_EUID': proc.uid, 'AT_GID': proc.gid, 'AT_EGID': proc.gid,
                      'AT_SECURE': 0})
        if isinstance(spec_auxv, dict):
            pairs.update(spec_auxv)
        words = []
        for k, v in pairs.items():
            words += [AT_NAMES[k] if k in AT_NAMES else parse_int(k), parse_int(v)]
        return words + [0, 0]                               # AT_NULL

    def build_mm(self, proc):
        vmas = [v.e for v in proc.vmas]
        if 'mm_raw' in proc.spec:
            mm = dict(proc.spec['mm_raw'])
            mm.setdefault('vmas', vmas)
            return mm
        m = dict(proc.spec.get('mm', {}))
        auxv = m.pop('auxv', None)
        for k in m:
            if k not in FIELDS_BY_NAME['mm_entry'] or k == 'vmas':
                raise MkimgError('%s.mm: unknown key %r' % (proc.where, k))
        if 'exe_file_id' not in m:
            exe = proc.spec.get('exe')
            if exe is not None:
                exe_id = self.file_id_for(exe, 0o100755)
            else:
                exe_id = next((parse_int(v.e['shmid']) for v in proc.vmas
                               if v.kind == 'file-private'), None)
                if exe_id is None:
                    exe_id = self.file_id_for('/usr/bin/%s' % proc.comm, 0o100755)
        else:
            exe_id = parse_int(m['exe_file_id'])
        exe_vmas = [v for v in proc.vmas if v.status & VMA_FILE_PRIVATE and
                    parse_int(v.e['shmid']) == exe_id]
        code = next((v for v in exe_vmas if v.prot & PROT_EXEC), None)
        data = next((v for v in reversed(exe_vmas) if v.prot & PROT_WRITE), None)
        heap = next((v for v in proc.vmas if v.status & VMA_AREA_HEAP), None)
        stack = next((v for v in proc.vmas if v.kind == 'stack' or
                      v.flags & MAP_GROWSDOWN), None)
        mm = {'mm_start_code': code.start if code else 0, 'mm_end_code': code.end if code else 0,
              'mm_start_data': data.start if data else 0, 'mm_end_data': data.end if data else 0,
              'mm_start_stack': stack.end - 0x100 if stack else 0,
              'mm_start_brk': heap.start if heap else 0, 'mm_brk': heap.end if heap else 0,
              'mm_arg_start': 0, 'mm_arg_end': 0, 'mm_env_start': 0, 'mm_env_end': 0,
              'exe_file_id': exe_id, 'mm_saved_auxv': self.build_auxv(proc, auxv),
              'vmas': vmas, 'dumpable': 1}
        if self.style != 'criu3-old':
            mm['thp_disabled'] = False          # v3.5
        mm.update(m)
        return mm

    # -- directory writer --------------------------------------------------

    def inventory(self, di):
        if 'inventory_raw' in self.spec and di == self.final:
            return self.spec['inventory_raw']
        inv = {'img_version': self.img_version, 'fdinfo_per_id': True,
               'root_ids': dict({'vm_id': 1, 'files_id': 1, 'fs_id': 1, 'sighand_id': 1},
                                **DEFAULT_NS_IDS),
               'ns_per_id': True, 'root_cg_set': 1, 'lsmtype': 'NO_LSM'}
        if di != self.final and self.style != 'criu3-old':
            inv['dump_uptime'] = 1000000 * (di + 1)      # µs, --track-mem (§1.9)
            inv['pre_dump_mode'] = 1                     # SPLICE
        if self.style == 'criu4':
            inv.update(network_lock_method=0, plugins_entry={},
                       dump_criu_run_id='00000000-0000-4000-8000-%012x' % di)
        deep_merge(inv, self.spec.get('inventory'))
        if di != self.final:
            deep_merge(inv, self.dumps[di].spec.get('inventory'))
        return inv

    def write_single(self, path, kind, entry):
        w = ImageWriter(path, kind, self.prefix)
        w.add(entry)
        w.close()

    def generate(self, out):
        if self.final:
            names = [d.name for d in self.dumps]
            if len(set(names)) != len(names):
                raise MkimgError('spec.predumps: directory names must differ')
            os.makedirs(out, exist_ok=True)
            dirs = [os.path.join(out, n) for n in names]
        else:
            dirs = [out]
        for di, d in enumerate(dirs):
            self.write_dump(di, d, '../' + self.dumps[di - 1].name if di else None)
        return dirs

    def write_dump(self, di, path, parent):
        os.makedirs(path, exist_ok=True)
        final = di == self.final
        dump = self.dumps[di]
        c = Counters()
        reserved = {p.pages_id for p in self.procs if p.pages_id is not None and final}
        reserved |= {o.pages_id for o in self.shm.values() if o.pages_id is not None and final}
        next_id = [0]

        def alloc_pages_id():
            # §1.8: a counter from 1, one id per pagemap written in this dump
            next_id[0] += 1
            while next_id[0] in reserved:
                next_id[0] += 1
            return next_id[0]

        self.write_single(os.path.join(path, 'inventory.img'), 'INVENTORY', self.inventory(di))
        if final:
            w = ImageWriter(os.path.join(path, 'pstree.img'), 'PSTREE', self.prefix)
            for p in self.procs:
                w.add({'pid': p.pid, 'ppid': p.ppid, 'pgid': p.pgid, 'sid': p.sid,
                       'threads': p.tids})
            w.close()
        for p in self.procs:
            if final:
                self.write_proc(p, path)
            if p.zombie:
                continue
            pid_ = p.pages_id if (final and p.pages_id is not None) else alloc_pages_id()
            self.write_pagemap(path, 'pagemap-%d.img' % p.pid, pid_,
                               self.task_segments(p, dump.task_items.get(p.pid, [])),
                               'pid=%d vaddr' % p.pid, c, shm=False)
        for obj in self.shm.values():
            items = obj.items.get(di, [])
            if not final and not items:
                continue
            pid_ = obj.pages_id if (final and obj.pages_id is not None) else alloc_pages_id()
            self.write_pagemap(path, 'pagemap-shmem-%d.img' % obj.shmid, pid_,
                               self.shm_segments(items), obj.label, c, shm=True)
        if final:
            self.write_files(path)
            self.write_shm_meta(path)
            self.write_net(path)
        raw = self.spec.get('raw_images', {}) if final else dump.spec.get('raw_images', {})
        for name, doc in raw.items():
            write_image_doc(doc, os.path.join(path, name))
        self.write_stats(di, path, c)
        link = dump.spec.get('parent_link', parent)
        if link and dump.spec.get('parent_as_file', self.spec.get('parent_as_file')):
            # what survives copying a dump without symlink support (the fixtures'
            # incremental/images/parent is such a file holding "../pre")
            with open(os.path.join(path, 'parent'), 'w') as f:
                f.write(link)
        elif link:
            os.symlink(link, os.path.join(path, 'parent'))     # §2.6

    def write_net(self, path):
        # netdev-/ifaddr-/route-/route6-/netns-<id>.img of each namespace, cgroup.img
        for i, ns in enumerate(self.spec.get('netns', [])):
            where = 'spec.netns[%d]' % i
            check_keys(ns, NETNS_KEYS, where)
            nid = parse_int(ns.get('id', DEFAULT_NS_IDS['net_ns_id']), where + '.id')
            names = {}
            if 'devices' in ns:
                w = ImageWriter(os.path.join(path, 'netdev-%d.img' % nid), 'NETDEV', self.prefix)
                for k, d in enumerate(ns['devices']):
                    e = netdev_entry(d, '%s.devices[%d]' % (where, k))
                    names[e['ifindex']] = e['name']
                    w.add(e)
                w.close()
            if 'ifaddr_file' in ns:     # a real `ip addr save` capture, copied as it is
                src = ns['ifaddr_file']
                shutil.copyfile(src if os.path.isabs(src) else os.path.join(self.base_dir, src),
                                os.path.join(path, 'ifaddr-%d.img' % nid))
            elif 'addresses' in ns:
                with open(os.path.join(path, 'ifaddr-%d.img' % nid), 'wb') as f:
                    f.write(ifaddr_blob(ns['addresses'], names, where + '.addresses'))
            for key, name, fam in (('routes', 'route', 2), ('routes6', 'route6', 10)):
                if key in ns:
                    with open(os.path.join(path, '%s-%d.img' % (name, nid)), 'wb') as f:
                        f.write(route_blob(parse_int(ns[key], where + '.' + key), fam))
            if 'ext_key' in ns or 'netns_entry' in ns:
                e = dict(ns.get('netns_entry', {}))
                if 'ext_key' in ns:
                    e['ext_key'] = ns['ext_key']
                self.write_single(os.path.join(path, 'netns-%d.img' % nid), 'NETNS', e)
        if 'cgroup' in self.spec:
            self.write_single(os.path.join(path, 'cgroup.img'), 'CGROUP', self.spec['cgroup'])

    def write_proc(self, p, path):
        if p.zombie:
            # one core file named by pid even if pstree lists other tids (states fixture)
            t = p.threads[0] if p.threads else {'tid': p.pid}
            self.write_single(os.path.join(path, 'core-%d.img' % p.pid), 'CORE',
                              self.build_core(p, t, 0, p.where))
            return
        for i, t in enumerate(p.threads):
            tid = parse_int(t['tid'])
            self.write_single(os.path.join(path, 'core-%d.img' % tid), 'CORE',
                              self.build_core(p, t, i, '%s.threads[%d]' % (p.where, i)))
        ids = self.build_ids(p)
        self.write_single(os.path.join(path, 'ids-%d.img' % p.pid), 'IDS', ids)
        self.write_single(os.path.join(path, 'mm-%d.img' % p.pid), 'MM', self.build_mm(p))
        fds = p.spec.get('fds')
        if fds:
            w = ImageWriter(os.path.join(path, 'fdinfo-%d.img' % parse_int(ids['files_id'])),
                            'FDINFO', self.prefix)
            for i, fd in enumerate(fds):
                where = '%s.fds[%d]' % (p.where, i)
                check_keys(fd, ('fd', 'path', 'file_id', 'flags'), where)
                fid = (parse_int(fd['file_id'], where) if 'file_id' in fd
                       else self.file_id_for(fd['path']))
                fe = self.file_by_id.get(fid)
                ftype = fe.get('type', 'REG') if fe else 'REG'
                w.add({'id': fid, 'flags': parse_int(fd.get('flags', 0), where),
                       'type': ftype, 'fd': parse_int(fd['fd'], where)})
            w.close()

    def write_files(self, path):
        for fid, size in self.size_hint.items():
            reg = self.file_by_id.get(fid, {}).get('reg')
            if reg is not None and 'size' not in reg:
                reg['size'] = size
        if not self.file_list:
            return
        if self.files_format == 'files':          # v3.4+ (§2.8)
            w = ImageWriter(os.path.join(path, 'files.img'), 'FILES', self.prefix)
            for e in self.file_list:
                w.add(e)
        else:                                      # <= v3.3: bare RegFileEntry array
            w = ImageWriter(os.path.join(path, 'reg-files.img'), 'REG_FILES', self.prefix)
            for e in self.file_list:
                if e.get('type') not in ('REG', 1):
                    if self.strict:
                        raise MkimgError('file id %s: only regular files fit reg-files.img'
                                         % e.get('id'))
                    continue
                w.add(e['reg'])
        w.close()

    def write_shm_meta(self, path):
        memfds = [o for o in self.shm.values() if o.inode is not None]
        for o in self.shm.values():
            ends = [it.addr + it.n * self.ps for lst in o.items.values() for it in lst]
            if not o.declared_size:
                o.size = max([o.size] + ends)
            if o.inode is not None and not o.declared_size:
                o.inode['size'] = o.size
            if o.ipc is not None and not o.declared_size:
                o.ipc['size'] = o.size
        if memfds:
            w = ImageWriter(os.path.join(path, 'memfd.img'), 'MEMFD_INODE', self.prefix)
            for o in memfds:
                w.add(o.inode)
            w.close()
        sysv = [o for o in self.shm.values() if o.ipc is not None]
        if sysv:
            root = self.procs[0]
            ipc_ns = parse_int(self.build_ids(root).get('ipc_ns_id', 0)) if not root.zombie \
                else DEFAULT_NS_IDS['ipc_ns_id']
            w = ImageWriter(os.path.join(path, 'ipcns-shm-%d.img' % ipc_ns), 'IPCNS_SHM',
                            self.prefix)
            for o in sysv:
                w.add(o.ipc)
            w.close()

    def write_stats(self, di, path, c):
        spec = self.spec if di == self.final else self.dumps[di].spec
        if spec.get('stats') is False:
            return
        if 'stats_raw' in spec:
            st = spec['stats_raw']
        else:
            nlive = sum(1 for p in self.procs if not p.zombie)
            # fixed times keep output reproducible; counters follow what was written (§4)
            st = {'dump': {'freezing_time': 100, 'frozen_time': 5000, 'memdump_time': 500,
                           'memwrite_time': 200,
                           'pages_scanned': c.written + c.parent + c.lazy,
                           'pages_skipped_parent': c.parent, 'pages_written': c.written,
                           'irmap_resolve': 0, 'pages_lazy': c.lazy, 'page_pipes': nlive,
                           'page_pipe_bufs': nlive,
                           'shpages_scanned': c.sh_written + c.sh_parent,
                           'shpages_skipped_parent': c.sh_parent,
                           'shpages_written': c.sh_written}}
            if isinstance(spec.get('stats'), dict):
                deep_merge(st['dump'], spec['stats'])
        self.write_single(os.path.join(path, 'stats-dump'), 'STATS', st)


# ---------------------------------------------------------------------------
# Synthetic checkpoints (benchmarks)
# ---------------------------------------------------------------------------

SYNTH_BASE = 0x7f0000000000       # first anonymous VMA of every synthetic process
SYNTH_STACK = 0x7ffc00000000      # thread stacks, 16 pages per thread
SYNTH_STACK_PAGES = 16


def synthetic_spec(a):
    """Spec for --synthetic: P processes x T threads, V anonymous VMAs each,
    M MiB of mapped anonymous memory in total of which a fraction F is left as
    never-touched holes, cut into runs of R pages. Items only describe ranges;
    pages are generated while writing, so memory use does not grow with M."""
    ps = a.page_size
    if a.procs < 1 or a.threads < 1 or a.vmas < 1 or not 0 <= a.zero_fraction <= 1:
        raise MkimgError('--synthetic: need procs, threads, vmas >= 1 and 0 <= F <= 1')
    total = int(a.mem_mib * (1 << 20)) // ps
    procs = []
    next_pid = 1
    for i in range(a.procs):
        pid = next_pid
        next_pid += a.threads
        mine = total // a.procs + (1 if i < total % a.procs else 0)
        vmas, memory, addr = [], [], SYNTH_BASE
        for v in range(a.vmas):
            n = max(1, mine // a.vmas + (1 if v < mine % a.vmas else 0))
            vmas.append({'kind': 'anon', 'start': addr, 'pages': n})
            item = {'vaddr': addr, 'pages': n, 'run_pages': a.run_pages or n,
                    'zero_fraction': a.zero_fraction}
            if a.no_merge:
                item['merge'] = False
            memory.append(item)
            addr += (n + 1) * ps          # one unmapped page keeps VMAs apart
        stack_pages = SYNTH_STACK_PAGES * a.threads
        vmas.append({'kind': 'stack', 'start': SYNTH_STACK, 'pages': stack_pages})
        threads = []
        for t in range(a.threads):
            top = SYNTH_STACK + (t + 1) * SYNTH_STACK_PAGES * ps
            memory.append({'vaddr': top - ps, 'pages': 1})
            threads.append({'tid': pid + t, 'comm': 'synth-%d.%d' % (i, t),
                            'regs': {'ip': SYNTH_BASE, 'sp': top - 0x100, 'bp': top - 0x100}})
        procs.append({'pid': pid, 'comm': 'synth-%d' % i, 'exe': '/usr/bin/c2c-synth',
                      'vmas': vmas, 'memory': memory, 'threads': threads})
    return {'style': a.style, 'page_size': ps, 'lazy_pages': a.lazy, 'processes': procs}


# ---------------------------------------------------------------------------
# spec-from-images: a real directory as a spec (escape hatches "*_raw")
# ---------------------------------------------------------------------------

HANDLED_IMAGES = ('inventory.img', 'pstree.img', 'files.img', 'reg-files.img', 'memfd.img',
                  'stats-dump')


def spec_from_images(d):
    """Describe an image directory so that generating the spec reproduces it
    byte for byte: messages go through the "*_raw" keys verbatim, VMAs as kind
    "raw", pagemaps as items pointing into the original pages files. Change
    "style" afterwards to get the same checkpoint in an older format."""
    d = os.path.abspath(d)

    def load(name):
        path = os.path.join(d, name)
        return read_image(path) if os.path.exists(path) else None

    pst = load('pstree.img')
    if pst is None:
        raise MkimgError("'%s': no pstree.img (a pre-dump directory cannot be mirrored alone)"
                         % d)
    spec = {'strict': False, 'merge': False, 'processes': []}
    inv = load('inventory.img')
    if inv:
        spec['inventory_raw'] = inv['entries'][0]
        if parse_int(inv['entries'][0].get('img_version', 2)) == 1:
            spec['img_version'] = 1
    st = load('stats-dump')
    if st:
        spec['stats_raw'] = st['entries'][0]
    else:
        spec['stats'] = False
    files = load('files.img')
    if files:
        spec['file_entries'] = files['entries']
    else:
        rf = load('reg-files.img')
        if rf:
            spec['files_format'] = 'reg-files'
            spec['file_entries'] = [{'type': 'REG', 'id': r['id'], 'reg': r}
                                    for r in rf['entries']]
    mf = load('memfd.img')
    if mf:
        spec['memfd_inodes'] = mf['entries']
    style, ps = None, 4096

    def items_of(pm_doc, addr_key):
        nonlocal style
        head, ents = pm_doc['entries'][0], pm_doc['entries'][1:]
        pages = os.path.join(d, 'pages-%d.img' % parse_int(head['pages_id']))
        off, items = 0, []
        for e in ents:
            this = ('criu4' if 'nr_pages' in e else 'criu3' if 'flags' in e else 'criu3-old')
            style = style or this
            n = parse_int(e.get('nr_pages', e.get('compat_nr_pages', 0)))
            if 'flags' in e:
                flags = parse_int(e['flags'])
            else:                           # §2.5 normalisation of old entries
                flags = PE_PARENT if e.get('in_parent') else PE_PRESENT
            it = {addr_key: e['vaddr'], 'pages': n, 'flags': flags, 'merge': False}
            if addr_key == 'vaddr':
                it['force'] = True
            if flags & PE_PRESENT:
                it.update(file=pages, file_offset=off)
                off += n * ps
            else:
                it['zero'] = True
            items.append(it)
        return parse_int(head['pages_id']), items

    for e in pst['entries']:
        pid = parse_int(e['pid'])
        proc = {'pid': pid, 'ppid': e['ppid'], 'pgid': e['pgid'], 'sid': e['sid']}
        mm = load('mm-%d.img' % pid)
        tids = e.get('threads', [])
        if mm is None:
            proc['state'] = 'zombie'
            proc['threads'] = [{'tid': t} for t in tids]
            core = load('core-%d.img' % pid)
            if core and proc['threads']:
                proc['threads'][0]['core_raw'] = core['entries'][0]
            spec['processes'].append(proc)
            continue
        proc['threads'] = [{'tid': t, 'core_raw': load('core-%d.img' % t)['entries'][0]}
                           for t in tids]
        ids = load('ids-%d.img' % pid)
        if ids:
            proc['ids_raw'] = ids['entries'][0]
        m = dict(mm['entries'][0])
        auxv = [parse_int(x) for x in m.get('mm_saved_auxv', [])]
        for k in range(0, len(auxv) - 1, 2):
            if auxv[k] == AT_NAMES['AT_PAGESZ']:
                ps = auxv[k + 1]
        proc['vmas'] = [dict(v, kind='raw') for v in m.pop('vmas', [])]
        proc['mm_raw'] = m
        pm = load('pagemap-%d.img' % pid)
        if pm:
            proc['pages_id'], proc['memory'] = items_of(pm, 'vaddr')
        spec['processes'].append(proc)
    shmem = {}
    for name in sorted(os.listdir(d)):
        if name.startswith('pagemap-shmem-') and name.endswith('.img'):
            shmid = name[len('pagemap-shmem-'):-4]
            pid_, items = items_of(load(name), 'offset')
            shmem[shmid] = {'pages_id': pid_, 'memory': items}
    if shmem:
        spec['shmem'] = shmem
    raw = {}
    core_like = ('core-', 'mm-', 'ids-', 'pagemap-', 'pages-')
    for name in sorted(os.listdir(d)):
        path = os.path.join(d, name)
        if (name in HANDLED_IMAGES or name.startswith(core_like) or not name.endswith('.img')
                or os.path.islink(path) or not os.path.isfile(path)):
            continue
        try:
            raw[name] = read_image(path)
        except MkimgError as e:
            print('c2c-mkimg: warning: %s: not mirrored' % e, file=sys.stderr)
    if raw:
        spec['raw_images'] = raw
    parent = os.path.join(d, 'parent')
    if os.path.islink(parent):
        spec['parent_link'] = os.readlink(parent)
    elif os.path.isfile(parent):
        with open(parent) as f:
            spec['parent_link'] = f.read()
        spec['parent_as_file'] = True
    spec['style'] = style or 'criu4'
    spec['page_size'] = ps
    return spec


# ---------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------

# --------------------------------------------------------------------------
# Process descriptions from cores of other architectures (tools/arch-describe.py)
# --------------------------------------------------------------------------

# CRIU's AT_VECTOR_SIZE in host words per architecture (§2.4 mm_saved_auxv):
# get_task_auxv() read()s at most this many words of /proc/pid/auxv.
AT_VECTOR_WORDS = {'x86_64': 44, 'aarch64': 50, 'riscv64': 64, 'arm': 40,
                   'ppc64le': 54,    # criu/arch/ppc64/include/asm/types.h: 2 * (6 + 20 + 1)
                   's390x': 44}      # criu/arch/s390/include/asm/types.h: 2 * (1 + 20 + 1)
DESC_FORMAT = 'c2c-arch-desc 1'


# i386 pr_reg words (tools/arch-describe.py) → user_x86_regs_entry fields;
# CRIU zero-extends a compat task's 32-bit registers (§2.2.1).
IA32_REGS = {'ebx': 'bx', 'ecx': 'cx', 'edx': 'dx', 'esi': 'si', 'edi': 'di', 'ebp': 'bp',
             'eax': 'ax', 'xds': 'ds', 'xes': 'es', 'xfs': 'fs', 'xgs': 'gs',
             'orig_eax': 'orig_ax', 'eip': 'ip', 'xcs': 'cs', 'eflags': 'flags', 'esp': 'sp',
             'xss': 'ss'}


def ia32_thread(t, where):
    """A generator thread of a compat task, as CRIU's x86 dump has it: mode
    COMPAT, fs_base/gs_base 0; fpregs = the FXSAVE image split into CRIU's
    fields; xsave = the XSAVE header's xstate_bv and the components CRIU
    keeps (YMM_Hi128, AVX-512, PKRU; user_x86_xsave_entry); tls = the three
    GDT slots of NT_386_TLS as user_desc_t (flags: uapi/asm/ldt.h bit-fields)."""
    regs = {IA32_REGS[k]: v for k, v in t['regs'].items()}
    regs.update(fs_base=0, gs_base=0, mode='COMPAT')
    th = {'tid': t['tid'], 'regs': regs}
    fp = t.get('fp')
    if fp:
        fx = bytes.fromhex(fp['fxsave'])
        if len(fx) != 512:
            raise MkimgError('%s.fp.fxsave: %d bytes, not 512' % (where, len(fx)))
        cwd, swd, twd, fop, rip, rdp, mxcsr, mask = struct.unpack_from('<HHHHQQII', fx, 0)
        th['fpregs'] = {'cwd': cwd, 'swd': swd, 'twd': twd, 'fop': fop, 'rip': rip, 'rdp': rdp,
                        'mxcsr': mxcsr, 'mxcsr_mask': mask,
                        'st_space': list(struct.unpack_from('<32I', fx, 32)),
                        'xmm_space': list(struct.unpack_from('<64I', fx, 160))}
        comps = {int(c): bytes.fromhex(h) for c, h in fp.get('components', {}).items()}
        xs = {'xstate_bv': fp['xstate_bv']}
        for c, key, fmt in ((2, 'ymmh_space', 'I'), (5, 'opmask_reg', 'Q'),
                            (6, 'zmm_upper', 'Q'), (7, 'hi16_zmm', 'Q')):
            if c in comps:
                b = comps[c]
                xs[key] = list(struct.unpack('<%d%s' % (len(b) // struct.calcsize(fmt), fmt), b))
        if 9 in comps:
            xs['pkru'] = struct.unpack_from('<I', comps[9], 0)[0]
        th['xsave'] = xs
    tls = []
    for d in t.get('tls_desc', []):
        fl = parse_int(d['flags'])
        tls.append({'entry_number': d['entry_number'], 'base_addr': parse_int(d['base_addr']),
                    'limit': parse_int(d['limit']), 'seg_32bit': bool(fl & 1),
                    'contents_h': bool(fl & 4), 'contents_l': bool(fl & 2),
                    'read_exec_only': bool(fl & 8), 'limit_in_pages': bool(fl & 0x10),
                    'seg_not_present': bool(fl & 0x20), 'usable': bool(fl & 0x40)})
    if tls:
        th['tls'] = tls
    return th


def spec_from_desc(desc, desc_dir):
    """Turn a process description (format "c2c-arch-desc 1": what a real
    process looked like in a qemu-user core, see tests/arch/README.md) into a
    generator spec for the CRIU images CRIU 4.x would have written of that
    process: one task with its threads, its VMAs as CRIU classifies them, the
    pages CRIU dumps (anonymous and copied-on-write ones; the describer left
    out zero pages and pages equal to their file), and the saved auxv. Page
    data is read from the description's core file."""
    if desc.get('format') != DESC_FORMAT:
        raise MkimgError('description: format is %r, not %r' % (desc.get('format'), DESC_FORMAT))
    arch = desc['arch']
    if arch not in ('aarch64', 'riscv64', 'arm', 'ia32', 'ppc64le', 's390x'):
        raise MkimgError('description: arch %s: only aarch64, riscv64, arm, ia32, ppc64le '
                         'and s390x descriptions can be generated' % arch)
    ps = parse_int(desc['page_size'])
    core = os.path.join(desc_dir, desc['core'])
    if not os.path.isfile(core):
        raise MkimgError('description: core %s does not exist' % core)
    vmas = []
    for i, v in enumerate(desc['vmas']):
        e = {'start': v['start'], 'end': v['end'], 'prot': v['prot']}
        if v.get('path'):
            if v.get('shared'):
                raise MkimgError('description.vmas[%d]: shared file mappings are not '
                                 'supported' % i)
            e.update(kind='file-private', path=v['path'], pgoff=v['pgoff'])
        elif v.get('name') == '[stack]':
            e['kind'] = 'stack'
        elif v.get('name') == '[heap]':
            e['kind'] = 'heap'
        elif arch == 'ia32' and v.get('name') == '[vdso]':
            e['kind'] = 'vdso'      # a kernel core: CRIU marks it VMA_AREA_VDSO (§2.4)
        elif arch == 'ia32' and v.get('name', '').startswith('[vvar'):
            e['kind'] = 'vvar'      # [vvar], [vvar_vclock]: VMA_AREA_VVAR, no pages
        else:
            e['kind'] = 'anon'
        vmas.append(e)
    memory = [{'vaddr': m['vaddr'], 'pages': m['pages'], 'file': core,
               'file_offset': m['core_offset']} for m in desc['memory']]
    threads = []
    for t in desc['threads']:
        th = {'tid': t['tid'], 'regs': dict(t['regs'])}
        if 'tls' in t:
            th['tls'] = t['tls']
        fp = t.get('fp')
        if fp and arch == 'aarch64':
            th['fpsimd'] = {'v': fp['v'], 'fpsr': fp['fpsr'], 'fpcr': fp['fpcr']}
        elif fp and arch == 'riscv64':
            th['fpsimd'] = {'f': fp['f'], 'fcsr': fp['fcsr']}
        elif fp and arch == 'arm':
            th['fpsimd'] = {'d': fp['d'], 'fpscr': fp['fpscr']}
        elif fp and arch == 's390x':
            th['fpsimd'] = {k: fp[k] for k in ('fpc', 'f', 'vxrs_low', 'vxrs_high') if k in fp}
        elif fp and arch == 'ppc64le':
            th['fpsimd'] = {k: fp[k] for k in ('fpr', 'vr', 'vscr', 'vrsave', 'vsx') if k in fp}
        if arch == 'ia32':
            th = ia32_thread(t, where='description.threads[%d]' % len(threads))
        threads.append(th)
    if arch == 'ia32':
        # /proc/pid/auxv of a compat task has 32-bit words; CRIU read()s
        # them into its u64 auxv_t array: two words per entry, the first in
        # the low half (§2.4), at most x86's AT_VECTOR_SIZE entries.
        w = [parse_int(x) for x in desc['auxv']]
        w += [0] * (len(w) % 2)
        auxv = [w[i] | w[i + 1] << 32 for i in range(0, len(w), 2)][:AT_VECTOR_WORDS['x86_64']]
    else:
        auxv = desc['auxv'][:AT_VECTOR_WORDS[arch]]
    proc = {'pid': desc['pid'], 'comm': desc['comm'][:15],
            'arch': 'x86_64' if arch == 'ia32' else arch, 'exe': desc['exe'],
            'vmas': vmas, 'memory': memory, 'threads': threads, 'mm': {'auxv': auxv}}
    spec = {'page_size': ps, 'processes': [proc]}
    if 'exe_size' in desc:
        # CRIU records each mapped file's size (reg_file_entry.size, §2.8)
        spec['files'] = [{'path': desc['exe'], 'size': parse_int(desc['exe_size'])}]
    return spec


def cmd_from_desc(argv):
    ap = argparse.ArgumentParser(prog='c2c-mkimg.py from-desc',
                                 description='Write the CRIU images of a process described '
                                 'by tools/arch-describe.py.')
    ap.add_argument('desc', help='description JSON (desc.json of an arch fixture)')
    ap.add_argument('-o', '--out', required=True, help='output image directory')
    ap.add_argument('-f', '--force', action='store_true', help='replace an existing OUT')
    ap.add_argument('--spec', help='also write the generated spec here')
    a = ap.parse_args(argv)
    desc = _load_json(a.desc)
    spec = spec_from_desc(desc, os.path.dirname(os.path.abspath(a.desc)))
    if a.spec:
        with open(a.spec, 'w') as f:
            json.dump(spec, f, indent=1)
    gen = Generator(spec, os.path.dirname(os.path.abspath(a.desc)))
    out, tmp = _prepare_out(a.out, a.force)
    try:
        gen.generate(tmp)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return 0


def _load_json(path):
    try:
        if path == '-':
            return json.load(sys.stdin)
        with open(path) as f:
            return json.load(f)
    except OSError as e:
        raise MkimgError("'%s': %s" % (path, e.strerror)) from None
    except ValueError as e:
        raise MkimgError("'%s': invalid JSON: %s" % (path, e)) from None


def _prepare_out(out, force):
    """Refuse to clobber unless --force; output goes to a temporary sibling
    that is renamed into place only when generation succeeded."""
    out = out.rstrip('/') or out
    if os.path.lexists(out):
        if os.path.isdir(out) and not os.path.islink(out) and not os.listdir(out):
            os.rmdir(out)
        elif not force:
            raise MkimgError("'%s' exists and is not empty (use --force)" % out)
        elif os.path.isdir(out) and not os.path.islink(out):
            shutil.rmtree(out)
        else:
            os.unlink(out)
    return out, '%s.c2c-tmp.%d' % (out, os.getpid())


def cmd_gen(argv):
    ap = argparse.ArgumentParser(
        prog='c2c-mkimg.py', description='Generate a CRIU image directory from a JSON '
        'description or synthetic parameters (see tools/README.md).')
    ap.add_argument('spec', nargs='?', help='JSON description ("-" for stdin)')
    ap.add_argument('-o', '--out', required=True, help='output directory')
    ap.add_argument('-f', '--force', action='store_true', help='replace an existing OUT')
    ap.add_argument('--synthetic', action='store_true', help='no spec: use the numbers below')
    ap.add_argument('--procs', type=int, default=1)
    ap.add_argument('--threads', type=int, default=1, help='threads per process')
    ap.add_argument('--vmas', type=int, default=4, help='anonymous VMAs per process')
    ap.add_argument('--mem-mib', type=float, default=16,
                    help='MiB of anonymous mappings over all processes')
    ap.add_argument('--zero-fraction', type=float, default=0.0,
                    help='fraction of runs left as never-touched holes')
    ap.add_argument('--run-pages', type=int, default=0,
                    help='pages per run (0 = whole VMA)')
    ap.add_argument('--style', choices=STYLES, default='criu4')
    ap.add_argument('--page-size', type=int, default=4096)
    ap.add_argument('--no-merge', action='store_true', help='one pagemap entry per run')
    ap.add_argument('--lazy', action='store_true', help='as criu dump --lazy-pages')
    a = ap.parse_args(argv)
    if a.synthetic == bool(a.spec):
        ap.error('give either a SPEC file or --synthetic')
    if a.synthetic:
        spec, base = synthetic_spec(a), os.getcwd()
    else:
        spec = _load_json(a.spec)
        base = os.getcwd() if a.spec == '-' else os.path.dirname(os.path.abspath(a.spec))
    gen = Generator(spec, base)
    out, tmp = _prepare_out(a.out, a.force)
    try:
        gen.generate(tmp)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return 0


def cmd_decode(argv):
    ap = argparse.ArgumentParser(prog='c2c-mkimg.py decode',
                                 description='Print one CRIU image as JSON.')
    ap.add_argument('image')
    ap.add_argument('--hex', action='store_true', help='print uint64 fields as hex strings')
    a = ap.parse_args(argv)
    json.dump(read_image(a.image, a.hex), sys.stdout, indent=1)
    sys.stdout.write('\n')
    return 0


def cmd_encode(argv):
    ap = argparse.ArgumentParser(prog='c2c-mkimg.py encode',
                                 description='Write one image from JSON (decode output, '
                                 'or crit/pycriu output).')
    ap.add_argument('json', help='JSON file ("-" for stdin)')
    ap.add_argument('-o', '--out', required=True, help='image file to write')
    a = ap.parse_args(argv)
    write_image_doc(_load_json(a.json), a.out)
    return 0


def cmd_spec_from_images(argv):
    ap = argparse.ArgumentParser(prog='c2c-mkimg.py spec-from-images',
                                 description='Describe a real image directory as a spec.')
    ap.add_argument('dir')
    ap.add_argument('-o', '--out', help='spec file (default: stdout)')
    a = ap.parse_args(argv)
    spec = spec_from_images(a.dir)
    if a.out:
        with open(a.out, 'w') as f:
            json.dump(spec, f, indent=1)
    else:
        json.dump(spec, sys.stdout, indent=1)
        sys.stdout.write('\n')
    return 0


COMMANDS = {'decode': cmd_decode, 'encode': cmd_encode, 'spec-from-images': cmd_spec_from_images,
            'gen': cmd_gen, 'from-desc': cmd_from_desc}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in COMMANDS:
        cmd, argv = COMMANDS[argv[0]], argv[1:]
    else:
        cmd = cmd_gen
    try:
        return cmd(argv)
    except MkimgError as e:
        print('c2c-mkimg: error: %s' % e, file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == '__main__':
    sys.exit(main())
