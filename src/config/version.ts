/** The version of the OCI runtime specification ocirun implements: in `spec`, state, hooks' state and `features`. */
export const OCI_VERSION = '1.3.0';
