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
    # a one-file restore is mostly start-up: the serial collector starts faster
    "restore "*)
      if coffer_have_libcrypto; then
        jit=(-XX:TieredStopAtLevel=1 -XX:+UseSerialGC)
      else
        jit=(-XX:CompileThresholdScaling=6 "${jdk_digests[@]}" -XX:+UseSerialGC)
      fi ;;
    # the commands whose hot loop is hashing, compressing and copying blocks
    "backup "*|"verify "*|"demo "*|"destination "*|"agent "*|"target "*)
      if coffer_have_libcrypto; then
        jit=(-XX:TieredStopAtLevel=1)
      else
        jit=("${jdk_digests[@]}")
      fi ;;
    # the rest (image cat, fs extract, ...) runs Java loops over VMDK grains and NTFS runs: full JIT
    *) jit=() ;;
  esac
}
