// `ocirun --version`, in runc's layout.
import { OCI_VERSION } from '../container/state.js';

export const OCIRUN_VERSION = '0.1.0';
export const VERSION_TEXT = `ocirun version ${OCIRUN_VERSION}\nspec: ${OCI_VERSION}\nnode: ${process.version}`;
