// ReconcileTestSupport
