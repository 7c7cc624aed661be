package org.apache.flink.kubernetes.highavailability;

import org.apache.flink.runtime.state.RetrievableStateHandle;
import org.apache.flink.util.InstantiationUtil;

import java.util.Base64;

/**
 * Lives in Flink's package only to reach the package-private StateHandleWithDeleteMarker
 * accessors. Decodes a ConfigMap value the way KubernetesStateHandleStore stores it:
 * Base64 (java.util, basic alphabet) of a Java-serialized StateHandleWithDeleteMarker.
 */
public final class FixtureHandleAccess {
    private FixtureHandleAccess() {}

    /** The inner handle and the delete marker of one ConfigMap value. */
    public static final class Decoded {
        public final RetrievableStateHandle<?> inner;
        public final boolean markedForDeletion;
        public final String wrapperClass;

        Decoded(RetrievableStateHandle<?> inner, boolean marked, String wrapperClass) {
            this.inner = inner;
            this.markedForDeletion = marked;
            this.wrapperClass = wrapperClass;
        }
    }

    public static Decoded decode(String configMapValue) throws Exception {
        byte[] bytes = Base64.getDecoder().decode(configMapValue);
        Object o = InstantiationUtil.deserializeObject(
                bytes, FixtureHandleAccess.class.getClassLoader());
        KubernetesStateHandleStore.StateHandleWithDeleteMarker<?> h =
                (KubernetesStateHandleStore.StateHandleWithDeleteMarker<?>) o;
        return new Decoded(h.getInner(), h.isMarkedForDeletion(), o.getClass().getName());
    }
}
