// The same suite with users and groups answered from memory (storage/resident-directory.ts).
import "../../support/resident-mode";
import "../project-access.test";
