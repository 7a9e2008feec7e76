package vsphere

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"syscall"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

var _ = DescribeTable("the outcome label of a vCenter call tells what an operator must do",
	func(err error, want string) { Expect(outcome(err)).To(Equal(want)) },
	Entry("nothing", nil, "success"),
	Entry("vCenter down", fmt.Errorf("deploy: %w", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), "unreachable"),
	Entry("no answer in time", fmt.Errorf("%w: no answer within 2m", ErrUnreachable), "unreachable"),
	Entry("an untrusted certificate", fmt.Errorf("connect: %w", x509.UnknownAuthorityError{}), "certificate"),
	Entry("wrong credentials", fmt.Errorf("log in: %w", soap.WrapVimFault(&types.InvalidLogin{})), "login_failed"),
	Entry("no such image", fmt.Errorf("deploy: %w", ErrImageNotFound), "not_found"),
	Entry("anything else", errors.New("task failed"), "error"),
)
