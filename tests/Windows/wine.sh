# Sourced by tests/Windows/run.sh and tests/Packaging/run.sh: finding Wine, and starting a prefix for a whole run.

# Wine's launcher (Debian's wine64 package installs "wine"; some installs only "wine64"), or nothing.
wine_command() { command -v wine || command -v wine64 || true; }

# start_wine_prefix WINE LOGDIR: creates $WINEPREFIX, starts its wineserver and boots it, the logs in LOGDIR. The
# server, and the services wineboot starts, run for the whole check with their output in a log: started by a captured
# run instead, they would inherit its stdout and stderr and hold them open until the server's idle timeout (3 s), so
# every captured run would wait that long for the end of its output. On failure it prints why and returns 1.
start_wine_prefix() {
  mkdir -p "$WINEPREFIX"
  wineserver -p >"$2/wineserver.log" 2>&1 || { echo "wineserver -p failed: $(tail -n 1 "$2/wineserver.log")"; return 1; }
  "$1" wineboot -i >"$2/wineboot.log" 2>&1 || { echo "wineboot failed: $(tail -n 1 "$2/wineboot.log")"; return 1; }
}
