package vsphere

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vmware/govmomi/vim25/types"
)

var _ = Describe("session logout", func() {
	It("waits for the calls in progress, which may still need the session to cancel a task wait", func() {
		s := &session{}
		s.inflight.Add(1)
		done := make(chan error, 1)
		go func() { done <- s.logout(context.Background()) }()
		Consistently(done, 100*time.Millisecond).ShouldNot(Receive(), "logged out under a call in progress")
		s.inflight.Add(-1)
		Eventually(done).Should(Receive(BeNil()))
	})

	It("gives up waiting when its context ends", func() {
		s := &session{}
		s.inflight.Add(1)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		Expect(s.logout(ctx)).To(Succeed())
	})
})

var _ = Describe("extraConfigChanges", func() {
	keys := func(changes []types.BaseOptionValue) map[string]any {
		out := map[string]any{}
		for _, c := range changes {
			v := c.GetOptionValue()
			out[v.Key] = v.Value
		}
		return out
	}

	It("sets new and changed keys and records which keys guest data owns", func() {
		have := map[string]string{"guestinfo.a": "1", "govcsim": "TRUE"}
		Expect(keys(extraConfigChanges(have, map[string]string{"guestinfo.a": "1", "guestinfo.b": "2"}))).To(Equal(map[string]any{
			"guestinfo.b": "2", managedKeysKey: "guestinfo.a,guestinfo.b",
		}))
	})

	It("removes keys it set before and no longer wants, and leaves others' keys alone", func() {
		have := map[string]string{"guestinfo.a": "1", "guestinfo.b": "2", "guestinfo.other": "x", managedKeysKey: "guestinfo.a,guestinfo.b"}
		Expect(keys(extraConfigChanges(have, map[string]string{"guestinfo.a": "1"}))).To(Equal(map[string]any{
			"guestinfo.b": "", managedKeysKey: "guestinfo.a",
		}))
		Expect(keys(extraConfigChanges(have, map[string]string{}))).To(Equal(map[string]any{
			"guestinfo.a": "", "guestinfo.b": "", managedKeysKey: "",
		}))
	})

	It("changes nothing when the VM already has what is wanted", func() {
		have := map[string]string{"guestinfo.a": "1", managedKeysKey: "guestinfo.a"}
		Expect(extraConfigChanges(have, map[string]string{"guestinfo.a": "1"})).To(BeEmpty())
		Expect(extraConfigChanges(map[string]string{}, map[string]string{})).To(BeEmpty())
	})
})
