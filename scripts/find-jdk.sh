# Sourced by ./stitch and ./build: sets STITCH_JAVA_HOME to a JDK 25 or newer, or prints one line and exits.
# Looks at $JAVA_HOME, then the usual Linux JVM folder, then `java` on the PATH.
stitch_java_major() { # $1 = a JDK home; prints its feature version or nothing
  local rel="$1/release"
  [ -x "$1/bin/java" ] && [ -f "$rel" ] || return 0
  sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$rel"
}
stitch_find_jdk() {
  local cand v
  for cand in "${JAVA_HOME:-}" /usr/lib/jvm/* "$(dirname "$(dirname "$(readlink -f "$(command -v java 2>/dev/null || echo /nonexistent)")")")"; do
    [ -n "$cand" ] && [ -d "$cand" ] || continue
    [ -x "$cand/bin/javac" ] || continue
    v=$(stitch_java_major "$cand")
    if [ -n "$v" ] && [ "$v" -ge 25 ]; then STITCH_JAVA_HOME="$cand"; return 0; fi
  done
  echo "stitch: no JDK 25 found (set JAVA_HOME to a JDK 25, e.g. Temurin 25)" >&2
  exit 2
}
stitch_find_jdk
