package dev.stitch.engine.hub;

import dev.stitch.kernels.UserError;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A model on the Hugging Face Hub as {@code --model} names it: {@code org/name}, optionally {@code @revision} (a
 * branch, a tag, or a commit hash, full or a unique prefix). Without a revision it is {@code main}, as in
 * huggingface_hub.
 */
public record HubId(String repo, String revision) {
    public static final String DEFAULT_REVISION = "main";

    // The Hub's repo names: letters, digits, '-', '_', '.'; one owner, one name.
    private static final Pattern ID = Pattern.compile("([A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*)(?:@([A-Za-z0-9._/-]+))?");

    /** Whether {@code text} has the form of a Hub id (whether or not such a model exists). */
    public static boolean looksLike(String text) {
        Matcher m = ID.matcher(text);
        return m.matches() && !m.group(1).contains("..") && (m.group(2) == null || !m.group(2).contains(".."));
    }

    /** {@code org/name[@revision]}; a {@link UserError} for anything else. */
    public static HubId parse(String text) {
        if (!looksLike(text))
            throw new UserError(text + ": not a Hub model id (expected org/name or org/name@revision, e.g. stabilityai/sd-turbo@main)");
        Matcher m = ID.matcher(text);
        m.matches();
        return new HubId(m.group(1), m.group(2) == null ? DEFAULT_REVISION : m.group(2));
    }

    /** The same model at another revision. */
    public HubId at(String rev) { return new HubId(repo, rev); }

    /** The cache's folder for this repository, as huggingface_hub's {@code repo_folder_name} spells it. */
    public String folderName() { return "models--" + repo.replace("/", "--"); }

    /** Whether the revision has the form of a full commit hash (40 hex digits). */
    public boolean isCommit() { return revision.matches("[0-9a-f]{40}"); }

    @Override
    public String toString() { return DEFAULT_REVISION.equals(revision) ? repo : repo + "@" + revision; }
}
