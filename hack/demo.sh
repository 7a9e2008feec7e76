#!/usr/bin/env bash
# Replays walkthrough.md steps 1 to 6 against a local supervisor of its own, printing each
# command and its real output: first in Deny mode (the default: the cluster is refused at apply),
# then a VM behind a LoadBalancer VirtualMachineService, then the walkthrough in Warn mode (as
# vSphere 7.0U2a: admitted, failed, then running by itself once bound), a VirtualMachine with
# cloud-init data, two NICs and a data disk, and last an upgrade of the walkthrough's cluster to
# a release the admin publishes.
# Usage: hack/demo.sh   (make demo builds what it needs first)
# DEMO_WORK=DIR keeps the supervisors' state and logs in DIR, with each supervisor's events and
# objects saved there (named after it) before it stops; DEMO_SUPERVISOR_FLAGS adds flags to the
# supervisors (test/reliability reads both to search a whole demo for secrets).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/bin"
apiserver_port=${DEMO_APISERVER_PORT:-16443}
vcenter_port=${DEMO_VCENTER_PORT:-18989}
metrics_port=${DEMO_METRICS_PORT:-18443}
work=${DEMO_WORK:-$(mktemp -d)}
name=
pid=

stop_supervisor() {
	if [[ -n ${DEMO_WORK:-} && -n $name ]]; then
		kubectl get events -A -o json >"$work/$name-events.json" 2>&1 || true
		kubectl get "$(kubectl api-resources --api-group=vmoperator.vmware.com -o name | paste -sd,),$(kubectl api-resources --api-group=run.tanzu.vmware.com -o name | paste -sd,)" \
			-A -o json >"$work/$name-objects.json" 2>&1 || true
	fi
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" && wait "$pid" || true
	fi
	pid= name=
}
trap 'stop_supervisor; [[ -n ${DEMO_WORK:-} ]] || rm -rf "$work"' EXIT

# start_supervisor MODE [NAME [FLAG...]] starts a fresh supervisor (its state in NAME, MODE by
# default, with the extra flags) and points kubectl and govc at it.
start_supervisor() {
	local mode=$1
	name=${2:-$1}
	local state="$work/$name"
	shift $(($# < 2 ? $# : 2))
	printf '\n### Starting the local supervisor in %s mode\n' "$mode"
	# shellcheck disable=SC2086 # DEMO_SUPERVISOR_FLAGS is a list of flags
	"$bin/local-supervisor" --enforcement="$mode" --state-dir="$state" \
		--apiserver-port="$apiserver_port" --vcenter-port="$vcenter_port" --metrics-port="$metrics_port" ${DEMO_SUPERVISOR_FLAGS:-} "$@" >"$state.log" 2>&1 &
	pid=$!
	for _ in $(seq 600); do
		[[ -f $state/ready ]] && break
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "the supervisor stopped before it was ready; its log:" >&2
			tail -n 30 "$state.log" >&2
			exit 1
		fi
		sleep 0.2
	done
	[[ -f $state/ready ]] || { echo "the supervisor was not ready after 2 minutes; see $state.log" >&2; exit 1; }
	export KUBECONFIG="$state/kubeconfig"
	# shellcheck disable=SC1091
	source "$state/govc.env"
}

govc() { "$bin/govc" "$@"; }

# show prints a command as typed, then runs it and prints what it prints, errors included.
show() {
	printf '\n$ %s\n' "$*"
	"$@" 2>&1 || true
}

# until_ok waits, silently, for a command to succeed (the syncs take a few seconds).
until_ok() {
	for _ in $(seq 300); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	echo "gave up waiting for: $*" >&2
	return 1
}

# bindings_are N [kubectl args]: the namespace has N bindings.
bindings_are() {
	local want=$1
	shift
	test "$(kubectl get virtualmachineclassbindings --no-headers "$@" 2>/dev/null | wc -l)" -eq "$want"
}
# vm_is_up NAME: the VM is powered on with an address.
vm_is_up() { [[ $(kubectl get vm "$1" -o 'jsonpath={.status.powerState} {.status.vmIp}' 2>/dev/null) =~ ^poweredOn\ [0-9] ]]; }
# has_external_ip NAME: the VirtualMachineService has a load balancer address.
has_external_ip() { [[ -n $(kubectl get vmservice "$1" -o 'jsonpath={.status.loadBalancer.ingress[0].ip}' 2>/dev/null) ]]; }
# serves NAME ADDRESS: the service's EndpointSlice lists the address.
serves() { kubectl get endpointslices -l "kubernetes.io/service-name=$1" -o 'jsonpath={.items[*].endpoints[*].addresses[*]}' 2>/dev/null | grep -qw "$2"; }
# phase_is PHASE: the walkthrough's cluster is in PHASE.
phase_is() { test "$(kubectl get tkc tkg-cluster-1-20-2 -o 'jsonpath={.status.phase}' 2>/dev/null)" = "$1"; }
# runs_version V: the cluster runs, every machine on Kubernetes V.
updates_are() { test "$(kubectl get tkc tkg-cluster-1-20-2 -o 'jsonpath={.status.conditions[?(@.type=="UpdatesAvailable")].message}' 2>/dev/null)" = "$1"; }

runs_version() { test "$(kubectl get tkc tkg-cluster-1-20-2 -o 'jsonpath={.status.phase} {.status.version}' 2>/dev/null)" = "running $1"; }
stock=(best-effort-2xlarge best-effort-4xlarge best-effort-8xlarge best-effort-large best-effort-medium
	best-effort-small best-effort-xlarge best-effort-xsmall guaranteed-2xlarge guaranteed-4xlarge
	guaranteed-8xlarge guaranteed-large guaranteed-medium guaranteed-small guaranteed-xlarge guaranteed-xsmall)
vmclass_flags() { printf -- '-vmclass %s ' "$@"; }
cd "$root"
manifest=config/samples/run_v1alpha1_tanzukubernetescluster.yaml

# steps_1_to_4 replays the admin's setup: two namespaces, all classes in one, one in the other.
steps_1_to_4() {
	printf '\n## Step 1: a fresh supervisor, no namespaces\n'
	show kubectl config get-contexts
	show kubectl get virtualmachineclasses

	printf '\n## Step 2: namespace new-namespace created in vCenter, nothing bound\n'
	show govc namespace.create -cluster "$SUPERVISOR_CLUSTER" new-namespace
	until_ok kubectl config get-contexts new-namespace
	show kubectl config get-contexts
	show kubectl get virtualmachineclasses
	show kubectl get virtualmachineclassbindings -n new-namespace

	printf '\n## Step 3: all 16 stock classes assigned to new-namespace in vCenter\n'
	# shellcheck disable=SC2046
	show govc namespace.update $(vmclass_flags "${stock[@]}") new-namespace
	until_ok bindings_are 16 -n new-namespace
	show kubectl get virtualmachineclasses
	show kubectl get virtualmachineclassbindings -n new-namespace
	show kubectl describe virtualmachineclass guaranteed-medium

	printf '\n## Step 4: a second namespace, cormac-new-ns, with only guaranteed-large\n'
	show govc namespace.create -cluster "$SUPERVISOR_CLUSTER" cormac-new-ns
	until_ok kubectl config get-contexts cormac-new-ns
	show kubectl config use-context cormac-new-ns
	show kubectl get virtualmachineclassbindings
	show govc namespace.update -vmclass guaranteed-large cormac-new-ns
	until_ok bindings_are 1
	show kubectl get virtualmachineclassbindings
}

step_6_bind() {
	printf '\n## Step 6: the admin assigns the two missing classes in vCenter\n'
	# shellcheck disable=SC2046
	show govc namespace.update $(vmclass_flags guaranteed-large guaranteed-medium best-effort-medium) cormac-new-ns
	until_ok bindings_are 3
	show kubectl get virtualmachineclassbindings
}

start_supervisor Deny
steps_1_to_4
printf '\n## Step 5 in Deny mode: the cluster of the walkthrough, whose classes are not bound here\n'
show cat "$manifest"
show kubectl apply -f "$manifest"
step_6_bind
show kubectl apply -f "$manifest"
until_ok phase_is running
show kubectl get tanzukubernetescluster
stop_supervisor

# The local supervisor's VMs have loopback addresses, which no EndpointSlice may hold; this one
# gives them TEST-NET-2 addresses (a documentation range nothing routes; no probe dials them).
start_supervisor Deny service --vm-ip-pool=198.51.100.0/24
printf '\n## A VirtualMachine behind a VirtualMachineService (VM addresses from 198.51.100.0/24 here)\n'
show govc namespace.create -cluster "$SUPERVISOR_CLUSTER" -vmclass best-effort-small web-ns
until_ok kubectl config get-contexts web-ns
show kubectl config use-context web-ns
until_ok bindings_are 1
svc_sample=config/samples/vmoperator_v1alpha1_virtualmachineservice.yaml
show cat "$svc_sample"
show kubectl --context devops@web-ns apply -f "$svc_sample"
until_ok vm_is_up web-1
until_ok has_external_ip web
until_ok serves web "$(kubectl get vm web-1 -o 'jsonpath={.status.vmIp}')"
show kubectl get virtualmachine web-1 -o wide
show kubectl get vmservice
show kubectl get service web
show kubectl get endpointslices -l kubernetes.io/service-name=web -o wide
show kubectl describe vmservice web
printf '\n## Powered off, the VM leaves the endpoints\n'
show kubectl --context devops@web-ns patch vm web-1 --type=merge -p '{"spec":{"powerState":"poweredOff"}}'
until_ok test -z "$(kubectl get endpointslices -l kubernetes.io/service-name=web -o 'jsonpath={.items[*].endpoints[*].addresses[*]}')"
show kubectl get endpointslices -l kubernetes.io/service-name=web -o wide
stop_supervisor

start_supervisor Warn
steps_1_to_4
printf '\n## Step 5 in Warn mode: admitted with warnings, then failed, as in vSphere 7.0U2a\n'
show kubectl apply -f "$manifest"
until_ok phase_is failed
show kubectl get tanzukubernetescluster
show kubectl describe tanzukubernetescluster
step_6_bind
start=$SECONDS
until_ok phase_is running
printf '\n(running %ds after the assignment, with no edit and no re-creation)\n' "$((SECONDS - start))"
show kubectl get tanzukubernetescluster
show kubectl get virtualmachines -o wide
show govc ls "/DC0/vm/cormac-new-ns"
show kubectl delete tanzukubernetescluster tkg-cluster-1-20-2
show kubectl get virtualmachines
show govc ls "/DC0/vm/cormac-new-ns"

printf '\n## A VirtualMachine to log in to: cloud-init data from a Secret, two NICs, a data disk\n'
vm_sample=config/samples/vmoperator_v1alpha1_virtualmachine_cloudinit.yaml
show cat "$vm_sample"
show kubectl --context devops@cormac-new-ns apply -f "$vm_sample"
until_ok vm_is_up web
show kubectl get virtualmachine web -o wide
show kubectl get virtualmachine web -o 'jsonpath={range .status.networkInterfaces[*]}{.macAddress}{"  "}{.ipAddresses}{"\n"}{end}'
show govc vm.info -e -r web
show govc device.ls -vm web

printf '\n## Upgrading the walkthrough cluster to the next minor, v1.20.2 to v1.21.6\n'
show kubectl apply -f "$manifest"
until_ok phase_is running
show kubectl get tanzukubernetescluster
printf '\n(the admin publishes v1.21.6 to the content library; the local supervisor keeps its descriptor in its state directory)\n'
(cd "$work/$name" && show govc library.import vm-service-images releases/photon-3-k8s-v1.21.6---vmware.1-tkg.1.b3d708a.ovf)
until_ok kubectl get tanzukubernetesrelease v1.21.6---vmware.1-tkg.1.b3d708a
until_ok updates_are '[v1.21.6+vmware.1-tkg.1.b3d708a]'
show kubectl get tanzukubernetesreleases
show kubectl get tanzukubernetescluster
printf '\n(a skipped minor or a downgrade is refused, naming the versions the cluster may move to)\n'
show kubectl patch tkc tkg-cluster-1-20-2 --type merge -p '{"spec":{"distribution":{"version":"v1.19.7"}}}'
show kubectl patch tkc tkg-cluster-1-20-2 --type merge -p '{"spec":{"distribution":{"version":"v1.21.6"}}}'
start=$SECONDS
until_ok runs_version v1.21.6
printf '\n(control plane first, then workers, one machine at a time: running on v1.21.6 %ds after the edit)\n' "$((SECONDS - start))"
show kubectl get tanzukubernetescluster -o wide
show kubectl get tkc tkg-cluster-1-20-2 -o 'jsonpath={.metadata.labels}{"\n"}{.spec.distribution}{"\n"}{.status.version}{"\n"}'
show kubectl get virtualmachines -o wide
show kubectl get events --field-selector involvedObject.name=tkg-cluster-1-20-2,reason=MachineReplaced -o 'custom-columns=REASON:.reason,MESSAGE:.message'
stop_supervisor

printf '\nDone.\n'
