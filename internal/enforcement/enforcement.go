// Package enforcement owns the class-binding enforcement mode and how a webhook's findings
// become an admission answer: in Deny mode class-access problems refuse the request; in Warn
// mode they are returned as warnings and the controllers report them in status.
package enforcement

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/vm-service/vm-service/internal/classaccess"
	"github.com/vm-service/vm-service/internal/confirm"
	"github.com/vm-service/vm-service/internal/storageaccess"
	"github.com/vm-service/vm-service/internal/usable"
)

// Mode is how admission treats a class that is missing or not bound in the namespace.
type Mode string

const (
	// Deny refuses the request. The default.
	Deny Mode = "Deny"
	// Warn admits the request with a warning, for rolling the policy out (as in vSphere 7.0U2a).
	Warn Mode = "Warn"
)

// String implements flag.Value.
func (m *Mode) String() string { return string(*m) }

// Set implements flag.Value.
func (m *Mode) Set(s string) error {
	switch Mode(s) {
	case Deny, Warn:
		*m = Mode(s)
		return nil
	}
	return fmt.Errorf("enforcement mode %q: want %s or %s", s, Deny, Warn)
}

// Findings are what a validator found wrong with an object.
type Findings struct {
	// Access are class-access problems: an unknown class or one not bound in the namespace.
	Access field.ErrorList
	// Invalid are every other problem; they always refuse the request.
	Invalid field.ErrorList
}

// Answer turns findings about the named object of kind gk into an admission answer. Every
// refused problem is returned at once in one Invalid error, so kubectl shows all the causes.
func (m Mode) Answer(gk schema.GroupKind, name string, f Findings) (admission.Warnings, error) {
	refused := f.Invalid
	var warnings admission.Warnings
	if m == Warn {
		for _, e := range f.Access {
			warnings = append(warnings, e.Error())
		}
	} else {
		refused = append(refused, f.Access...)
	}
	if len(refused) == 0 {
		return warnings, nil
	}
	return warnings, apierrors.NewInvalid(gk, name, refused)
}

// ClassPolicy is what an admitting webhook needs to apply the access rules: classes (by Mode)
// and storage classes (always refused, as vSphere with Tanzu has always done).
type ClassPolicy struct {
	// Readers are the manager's cache, with the field indexes registered, and the apiserver,
	// which confirms every refusal.
	Readers confirm.Readers
	// Mode says whether class-access problems refuse the request or only warn.
	Mode Mode
	// Usable remembers the checks' "usable" answers while what they read is unchanged; nil asks
	// the checks every time.
	Usable *usable.Memo
}

// CheckClass records in f, at path, why namespace may not use class. A failure to read the
// cache is returned as a 503, so the request fails closed.
func (p ClassPolicy) CheckClass(ctx context.Context, namespace, class string, path *field.Path, f *Findings) error {
	var d classaccess.Decision // the zero Decision, usable, stands for a remembered answer
	err := p.Usable.Answer(usable.Key{Kind: usable.Class, Namespace: namespace, Name: class}, func() (bool, error) {
		var err error
		d, err = classaccess.Check(ctx, p.Readers, namespace, class)
		return d.Usable(), err
	})
	if err != nil {
		return Unavailable("check VM class access", err)
	}
	if !d.Usable() {
		f.Access = append(f.Access, d.FieldError(path))
	}
	return nil
}

// CheckStorage records in f, at path, why namespace may not use storageClass. Unlike classes,
// storage is refused in every mode: no release ever admitted an unassigned storage class.
func (p ClassPolicy) CheckStorage(ctx context.Context, namespace, storageClass string, path *field.Path, f *Findings) error {
	var d storageaccess.Decision // the zero Decision, usable, stands for a remembered answer
	err := p.Usable.Answer(usable.Key{Kind: usable.Storage, Namespace: namespace, Name: storageClass}, func() (bool, error) {
		var err error
		d, err = storageaccess.Check(ctx, p.Readers, namespace, storageClass)
		return d.Usable(), err
	})
	if err != nil {
		return Unavailable("check storage class access", err)
	}
	if !d.Usable() {
		f.Invalid = append(f.Invalid, d.FieldError(path))
	}
	return nil
}

// Unavailable answers a webhook's failure to read what it needs (what: "check VM class access")
// with a 503: the request fails closed, and the client may retry.
func Unavailable(what string, err error) error {
	return apierrors.NewServiceUnavailable(fmt.Sprintf("cannot %s now, retry shortly: %v", what, err))
}

// usersNamed is how many users a refused delete names before "and N more".
const usersNamed = 5

// NameUsers lists the first few of the objects that keep something from being deleted, and how
// many more there are, for the refusal's message.
func NameUsers(names []string) string {
	out := strings.Join(names[:min(usersNamed, len(names))], ", ")
	if more := len(names) - usersNamed; more > 0 {
		out += fmt.Sprintf(" and %d more", more)
	}
	return out
}
