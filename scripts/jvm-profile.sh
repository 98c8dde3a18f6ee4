# Sourced by the launcher (coffer) and the benchmarks: the JVM compiler options a command runs with,
# so that what is measured is what an operator runs. Sets the array `jit`.
#
# Coffer's hot loops are native code: SHA-256 and MD5 in OpenSSL's libcrypto (dedup's Digests, through
# JNA), zstd and LZ4 in their JNI libraries, CRC-32C and memory copies in HotSpot intrinsics that the
# quick compiler (C1) has as well. The optimising compiler (C2) then buys little and costs much on a
# 2-core machine: it compiled for ~2 s of the 4.4 s of CPU an incremental backup used, and for a quarter
# of a full backup's. On C1 alone a full backup of the reference workload took 5.8 s instead of 7-8.5 s,
# an incremental 1.4 s instead of 1.9 s, and the destination took 1 MiB blocks over loopback at ~300 MB/s
# instead of ~245 (docs/performance.md). So those commands run on C1 when libcrypto is present.
# Without it the JDK's digests are used, which reach the CPU's SHA instructions only through C2: then the
# full JIT runs, with the digest code compiled at once rather than after tens of megabytes.

# Whether the system has libcrypto (the test Digests makes when it loads, done here before the JVM starts).
coffer_have_libcrypto() {
  local f
  # the multiarch directory alone first: globbing every directory under /usr/lib costs a few ms
  for f in "/usr/lib/${HOSTTYPE:-x86_64}-linux-gnu"/libcrypto.so.*; do
    [ -e "$f" ] && return 0
  done
  for f in /usr/lib/*/libcrypto.so.* /lib/*/libcrypto.so.* /usr/lib64/libcrypto.so.* /usr/lib/libcrypto.so.*; do
    [ -e "$f" ] && return 0
  done
  return 1
}

# coffer_jit_opts COMMAND [SUBCOMMAND]
coffer_jit_opts() {
  # without libcrypto: the JDK's digest code compiled at once by C2, not after tens of megabytes
  local jdk_digests=(-XX:CompileCommand=quiet "-XX:CompileCommand=CompileThresholdScaling,sun.security.provider.*::*,0.05")
  case "${1:-} ${2:-}" in
    # short, latency-bound listings: C1 and the serial collector start fastest (docs/perf/ntfs.md)
    "fs ls"|"fs stat"|"image info"|"image map"|"image partitions"|"backups "*|"ls "*|"find "*|"history "*|"diff "*)
      jit=(-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData) ;;
    # a one-file restore is mostly start-up: the serial collector starts faster, one compiler thread
    # competes less with the command's own two (~35 ms of a 50 MB restore, docs/performance.md), no
    # hsperfdata file is mapped, and C1 waits for ten times the usual calls before compiling a method
    # (it compiled ~520 start-up methods for ~130 ms of CPU; ~10 ms less wall time in 21-run A/Bs)
    "restore "*)
      if coffer_have_libcrypto; then
        jit=(-XX:TieredStopAtLevel=1 -XX:CICompilerCount=1 -XX:CompileThresholdScaling=10 -XX:+UseSerialGC -XX:-UsePerfData)
      else
        jit=(-XX:CompileThresholdScaling=6 "${jdk_digests[@]}" -XX:+UseSerialGC)
      fi ;;
    # the commands whose hot loop is hashing, compressing and copying blocks. The one-shot ones do not
    # run on G1: a full backup of the reference workload took 5.9-6.2 s on the serial collector against
    # 7.8-9.5 s on G1 (10.4 s of CPU against 14.1; three alternating runs each, docs/performance.md):
    # its blocks die young, and G1's barriers, refinement threads and fresh regions cost more than the
    # few-millisecond young collections. A backup runs on the parallel collector: its one young
    # collection in an incremental copies the volume's ~20 MB model of the MFT, ~47 ms on one thread
    # while everything waits, about half that on two (incremental 1.026 -> 0.978 s, full 3.66 -> 3.58 s
    # in alternating runs). verify and demo stay serial. The servers (destination, agent, target) keep
    # G1's short pauses.
    "backup "*|"verify "*|"demo "*|"destination "*|"agent "*|"target "*)
      if coffer_have_libcrypto; then
        jit=(-XX:TieredStopAtLevel=1)
        # a backup on C1 alone needs one compiler thread, not two: the second core stays with the
        # readers and hashers through the start-up burst (incremental 1.087 -> 1.027 s in 7
        # alternating runs each; the full backup unchanged at 4.67 s; docs/performance.md)
        if [ "${1:-}" = backup ]; then jit+=(-XX:CICompilerCount=1); fi
      else
        jit=("${jdk_digests[@]}")
      fi
      case "${1:-}" in backup) jit+=(-XX:+UseParallelGC) ;; verify|demo) jit+=(-XX:+UseSerialGC) ;; esac ;;
    # the rest (image cat, fs extract, ...) runs Java loops over VMDK grains and NTFS runs: full JIT
    *) jit=() ;;
  esac
}

# coffer_start_opts COMMAND: how the JVM maps memory, in two arrays: `cds_map` (added to the
# launcher's class-data-sharing options, so only when it has an archive) and `mem`. (Which locale data
# a command reads is decided in Java: Main.jreLocaleData.)
#
# The CDS archive: this JDK (17.0.15) maps archives at a random address and patches every pointer in
# them (ArchiveRelocationMode=1, the default since 17.0.x): for Coffer's 30 MB archive that took ~65 ms
# of every start (java -version: 156 ms with it, 90 ms mapped at its own base address, 87 ms with the
# JDK's own small archive). Mode 0 maps it where it was dumped, falling back to relocating when that
# range is taken. The network daemons (agent, destination, target), which run for days and face peers,
# keep the randomised mapping; the short commands, whose start is most of a one-file restore, do not.
#
# Transparent huge pages for the heap: a restore or a backup moves blocks through fresh 1 MiB arrays,
# and with 4 KiB pages the kernel faults in and zeroes each page on first touch (most of a 50 MB
# restore's data phase). The JVM asks for huge pages only with -XX:+UseTransparentHugePages, and only
# when the kernel offers them to those who ask (enabled: always or madvise), or it warns.
coffer_have_thp() {
  local mode=""
  read -r mode 2>/dev/null < /sys/kernel/mm/transparent_hugepage/enabled || return 1
  [[ $mode == *"[always]"* || $mode == *"[madvise]"* ]]
}

coffer_start_opts() {
  cds_map=() mem=()
  case "${1:-}" in
    agent|destination|target) ;;
    *) cds_map=(-XX:+UnlockDiagnosticVMOptions -XX:ArchiveRelocationMode=0) ;;
  esac
  case "${1:-}" in
    backup|restore|verify|demo|agent|destination|target)
      if coffer_have_thp; then mem=(-XX:+UseTransparentHugePages); fi ;;
  esac
}
