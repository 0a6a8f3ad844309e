// A-Frame, then networked-aframe, in that order: NAF's sources read the
// AFRAME and THREE globals when they load.
import "aframe";
import "./three-compat.js";
import "networked-aframe";
