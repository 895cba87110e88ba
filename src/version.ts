/** vllmapp's version, from package.json (bundled in by the build; read as JSON when run from source). */
import pkg from "../package.json" with { type: "json" };

export const VERSION: string = pkg.version;
