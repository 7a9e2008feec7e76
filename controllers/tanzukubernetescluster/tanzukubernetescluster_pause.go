package tanzukubernetescluster

import (
	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/conditions"
)

// isPaused says whether the cluster carries Cluster API's pause annotation (any value).
func isPaused(tkc *runv1.TanzuKubernetesCluster) bool {
	_, ok := tkc.Annotations[runv1.PausedAnnotation]
	return ok
}

// pausedCondition says the cluster is paused, and what that stops.
func pausedCondition() vmopv1.Condition {
	c := conditions.True(runv1.PausedCondition)
	c.Reason = runv1.PausedReason
	c.Message = "annotation " + runv1.PausedAnnotation + " is set: no machine is created, replaced or deleted until it is removed"
	return c
}
