// networked-aframe interpolates rotations with buffered-interpolation, whose
// npm release (0.2.5, the override in web/package.json) calls the static
// THREE.Quaternion.slerp that three.js removed (A-Frame 1.8 ships three
// r184). The instance method does the same thing; give the old name to it.
/* global THREE */
if (typeof THREE.Quaternion.slerp !== "function") {
  THREE.Quaternion.slerp = (from, to, target, t) => target.slerpQuaternions(from, to, t);
}
