package tanzukubernetescluster

import (
	"crypto/sha256"
	"encoding/binary"
	"regexp"
	"strconv"

	"k8s.io/apimachinery/pkg/types"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
)

// Pool is one of the cluster's two node pools.
type Pool string

const (
	// ControlPlanePool is the pool of control plane nodes.
	ControlPlanePool Pool = "control-plane"
	// WorkersPool is the pool of worker nodes.
	WorkersPool Pool = "workers"
)

// nameAlphabet is the alphabet of the random-looking parts of machine names: lowercase
// consonants and digits, as Kubernetes' generated names use, so no word is spelled by accident.
const nameAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// suffix derives n characters of nameAlphabet from parts. The same parts always give the same
// suffix; different clusters (UIDs) give unrelated ones.
func suffix(n int, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		_, _ = h.Write([]byte(p))
		_, _ = h.Write([]byte{0})
	}
	sum := h.Sum(nil)
	out := make([]byte, n)
	for i := range out {
		// Two bytes per character keep the modulo bias negligible.
		v := binary.BigEndian.Uint16(sum[(2*i)%len(sum):])
		out[i] = nameAlphabet[int(v)%len(nameAlphabet)]
	}
	return string(out)
}

// MachineNames are the names of the first count machines of a pool, index order: machine i is
// always called the same, so scaling to count keeps machines 0..count-1 and removes the rest.
//
//	control plane: <cluster>-control-plane-<5 chars>
//	workers:       <cluster>-workers-<5 chars>-<9 chars>-<5 chars>
//
// The worker name has the shape of Cluster API's MachineDeployment, MachineSet and Machine
// names that the walkthrough shows. A suffix that repeats an earlier one (one chance in
// millions) is drawn again with a salt, so names stay unique and deterministic.
func MachineNames(cluster string, uid types.UID, pool Pool, count int) []string {
	prefix := cluster + "-control-plane-"
	if pool == WorkersPool {
		prefix = cluster + "-workers-" + suffix(5, string(uid), string(pool), "deployment") + "-" +
			suffix(9, string(uid), string(pool), "set") + "-"
	}
	names := make([]string, 0, count)
	seen := make(map[string]bool, count)
	for i := 0; i < count; i++ {
		for salt := 0; ; salt++ {
			name := prefix + suffix(5, string(uid), string(pool), strconv.Itoa(i), strconv.Itoa(salt))
			if !seen[name] {
				seen[name] = true
				names = append(names, name)
				break
			}
		}
	}
	return names
}

// machineNameShapes match the names MachineNames makes; the first group is the cluster's name.
var machineNameShapes = []*regexp.Regexp{
	regexp.MustCompile(`^(.+)-control-plane-[a-z0-9]{5}$`),
	regexp.MustCompile(`^(.+)-workers-[a-z0-9]{5}-[a-z0-9]{9}-[a-z0-9]{5}$`),
}

// clustersOfMachineName inverts MachineNames as far as a name allows: the clusters that a VM of
// that name could be a machine of, by its shape alone (the suffixes need the cluster's UID).
func clustersOfMachineName(name string) []string {
	var clusters []string
	for _, shape := range machineNameShapes {
		if m := shape.FindStringSubmatch(name); m != nil {
			clusters = append(clusters, m[1])
		}
	}
	return clusters
}

// poolSettings is the pool's part of the cluster spec.
func poolSettings(tkc *runv1.TanzuKubernetesCluster, pool Pool) runv1.TopologySettings {
	if pool == ControlPlanePool {
		return tkc.Spec.Topology.ControlPlane
	}
	return tkc.Spec.Topology.Workers
}

// pools lists the pools in the order status reports them: control plane first.
var pools = []Pool{ControlPlanePool, WorkersPool}
