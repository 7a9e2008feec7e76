package vsphere

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
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
