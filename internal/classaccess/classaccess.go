// Package classaccess answers the product's one policy question: may namespace N use
// VirtualMachineClass C? Every webhook and controller asks Check; nothing else decides it.
package classaccess

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/confirm"
)

// Verdict is Check's answer.
type Verdict int

const (
	// Usable means the class exists and a binding in the namespace names it.
	Usable Verdict = iota
	// ClassNotFound means no VirtualMachineClass has that name.
	ClassNotFound
	// NotBound means the class exists but no binding in the namespace names it.
	NotBound
)

// Decision is a verdict with what a message about it needs.
type Decision struct {
	Verdict   Verdict
	Namespace string
	Class     string
	// Bound lists, sorted, the classes bound in the namespace; filled only when not Usable.
	Bound []string
	// Found is the class as read, so callers need not read it again; nil when ClassNotFound.
	// Read it, never modify it: it may be the cache's own object.
	Found *vmopv1.VirtualMachineClass
	// ClassDeleting says the class exists but is being deleted, which counts as not found.
	ClassDeleting bool
}

// Usable says whether the namespace may use the class.
func (d Decision) Usable() bool { return d.Verdict == Usable }

// Reason is the CamelCase condition reason for the verdict; empty when usable.
func (d Decision) Reason() string {
	switch d.Verdict {
	case ClassNotFound:
		return vmopv1.VirtualMachineClassNotFoundReason
	case NotBound:
		return vmopv1.VirtualMachineClassBindingNotFoundReason
	}
	return ""
}

// Message explains the verdict to a person and says what to do; empty when usable.
func (d Decision) Message() string {
	bound := "none"
	if len(d.Bound) > 0 {
		bound = strings.Join(d.Bound, ", ")
	}
	switch d.Verdict {
	case ClassNotFound:
		if d.ClassDeleting {
			return fmt.Sprintf("VirtualMachineClass %q is being deleted (bound in namespace %q: %s); use one of the bound classes", d.Class, d.Namespace, bound)
		}
		return fmt.Sprintf("VirtualMachineClass %q does not exist (bound in namespace %q: %s); use one of the bound classes", d.Class, d.Namespace, bound)
	case NotBound:
		return fmt.Sprintf("VirtualMachineClass %q is not bound in namespace %q (bound here: %s); use a bound class or ask a platform admin to bind this one", d.Class, d.Namespace, bound)
	}
	return ""
}

// Check decides whether namespace may use class. It reads rs.Cache, which the manager makes with
// WithBound, so whether the class is bound is one lookup in the namespace's bound classes, at the
// same cost with one binding or a hundred. A refusal is confirmed with rs.Live before it is
// returned: a class or binding created a moment ago may not be in the cache yet. A binding counts
// by its classRef.name, never by its own name.
func Check(ctx context.Context, rs confirm.Readers, namespace, class string) (Decision, error) {
	return confirm.Refusal(ctx, rs, func(r client.Reader) (Decision, bool, error) {
		d, err := check(ctx, r, namespace, class)
		return d, !d.Usable(), err
	})
}

// check is Check's decision on one reader.
func check(ctx context.Context, r client.Reader, namespace, class string) (Decision, error) {
	d := Decision{Namespace: namespace, Class: class}
	if namespace == "" {
		// An empty namespace would list the bindings of every namespace: no namespace, no class.
		d.Verdict = NotBound
		return d, nil
	}
	found, err := readClass(ctx, r, class)
	switch {
	case err != nil:
		return d, fmt.Errorf("read VirtualMachineClass %q: %w", class, err)
	case found == nil:
		d.Verdict = ClassNotFound
	case !found.DeletionTimestamp.IsZero():
		d.Verdict, d.ClassDeleting = ClassNotFound, true
	default:
		d.Found = found
	}
	bound, err := BoundClasses(ctx, r, namespace)
	if err != nil {
		return d, err
	}
	if d.Found != nil {
		if _, ok := slices.BinarySearch(bound, class); ok {
			return d, nil // Usable, the zero Verdict
		}
		d.Verdict = NotBound
	}
	d.Bound = bound
	return d, nil
}

// readClass reads the class named name; nil when there is none. A reader made by WithBound hands
// out the cache's own object: a class lists every namespace it is bound in, a thousand strings to
// copy on every admission of a large supervisor.
func readClass(ctx context.Context, r client.Reader, name string) (*vmopv1.VirtualMachineClass, error) {
	if br, ok := r.(boundReader); ok {
		if class, ok, err := br.cachedClass(ctx, name); ok {
			return class, err
		}
	}
	class := &vmopv1.VirtualMachineClass{}
	err := r.Get(ctx, client.ObjectKey{Name: name}, class)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return class, err
}

// BoundClasses lists, sorted and without repeats, the classes bound in namespace. A reader made
// by WithBound answers from its BoundSet (read-only; never modify the result); any other lists
// the namespace's bindings.
func BoundClasses(ctx context.Context, r client.Reader, namespace string) ([]string, error) {
	if br, ok := r.(boundReader); ok {
		if names, ok := br.boundClasses(namespace); ok {
			return names, nil
		}
	}
	bindings := &vmopv1.VirtualMachineClassBindingList{}
	// Only names are read, so the cache may hand out its own objects instead of copies; that
	// keeps a refusal cheap in a namespace with many bindings.
	if err := r.List(ctx, bindings, client.InNamespace(namespace), client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("list bindings in namespace %q: %w", namespace, err)
	}
	seen := map[string]bool{}
	var names []string
	for _, b := range bindings.Items {
		if n := b.ClassRef.Name; live(b) && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

// live says whether a binding counts: one being deleted no longer does.
func live(b vmopv1.VirtualMachineClassBinding) bool { return b.DeletionTimestamp.IsZero() }

// FieldError states a refused decision as a field error at path, for admission responses.
func (d Decision) FieldError(path *field.Path) *field.Error {
	return field.Invalid(path, d.Class, d.Message())
}
