#!/usr/bin/env bash
# Runs each fuzz target for FUZZTIME, one after the other on one worker, and prints per target
# the executions run and whether it found a failure (the failing input is then saved under the
# package's testdata/fuzz, where `make test` replays it from then on).
set -uo pipefail

FUZZTIME=${FUZZTIME:-30s}
targets=(
	"FuzzVirtualMachineAdmission ./test/admissionfuzz"
	"FuzzVirtualMachineClassAdmission ./test/admissionfuzz"
	"FuzzVirtualMachineClassBindingAdmission ./test/admissionfuzz"
	"FuzzTanzuKubernetesClusterAdmission ./test/admissionfuzz"
	"FuzzVirtualMachineServiceAdmission ./test/admissionfuzz"
	"FuzzVirtualMachineSetResourcePolicyAdmission ./test/admissionfuzz"
	"FuzzParse ./internal/tkr"
)

status=0
summary=()
for t in "${targets[@]}"; do
	read -r name pkg <<<"$t"
	log=$(mktemp)
	echo "== $name ($pkg, $FUZZTIME)"
	if go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -parallel 1 -v "$pkg" >"$log" 2>&1; then
		result="no failure"
	else
		result="FAILURE (see above; the input is in $pkg/testdata/fuzz/$name)"
		status=1
		cat "$log"
	fi
	# The last progress line carries the total, such as "execs: 123456 (4115/sec)".
	execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	rm -f "$log"
	summary+=("$(printf '%-42s execs %-10s %s' "$name" "${execs:-?}" "$result")")
done
printf '%s\n' "" "Fuzzing, $FUZZTIME per target:" "${summary[@]}"
exit $status
