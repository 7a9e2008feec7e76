package tanzukubernetescluster

import (
	"regexp"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/types"
)

var _ = Describe("MachineNames", func() {
	const uid = types.UID("6f1c1d4e-0000-4000-8000-000000000001")

	It("have the walkthrough's shapes", func() {
		cp := MachineNames("tkg-cluster-1-20-2", uid, ControlPlanePool, 3)
		Expect(cp).To(HaveEach(MatchRegexp(`^tkg-cluster-1-20-2-control-plane-[a-z0-9]{5}$`)))
		w := MachineNames("tkg-cluster-1-20-2", uid, WorkersPool, 5)
		Expect(w).To(HaveEach(MatchRegexp(`^tkg-cluster-1-20-2-workers-[a-z0-9]{5}-[a-z0-9]{9}-[a-z0-9]{5}$`)))
		// The workers share their deployment and set parts, like one MachineSet's machines.
		prefix := regexp.MustCompile(`-[a-z0-9]{5}$`)
		Expect(prefix.ReplaceAllString(w[0], "")).To(Equal(prefix.ReplaceAllString(w[4], "")))
	})

	It("are the same for the same cluster, unique, and stable under scaling", func() {
		five := MachineNames("c", uid, WorkersPool, 5)
		Expect(MachineNames("c", uid, WorkersPool, 5)).To(Equal(five))
		Expect(MachineNames("c", uid, WorkersPool, 2)).To(Equal(five[:2]), "scaling down keeps the lowest indexes")
		Expect(MachineNames("c", uid, WorkersPool, 7)[:5]).To(Equal(five), "scaling up keeps what exists")
		seen := map[string]bool{}
		for _, n := range MachineNames("c", uid, ControlPlanePool, 200) {
			Expect(seen).NotTo(HaveKey(n))
			seen[n] = true
		}
	})

	It("differ between clusters of the same name", func() {
		other := MachineNames("c", "uid-2", ControlPlanePool, 3)
		for _, n := range MachineNames("c", "uid-1", ControlPlanePool, 3) {
			Expect(other).NotTo(ContainElement(n))
		}
	})
})
