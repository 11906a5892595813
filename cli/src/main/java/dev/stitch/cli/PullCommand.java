package dev.stitch.cli;

import dev.stitch.engine.hub.HubCache;
import dev.stitch.engine.hub.HubClient;
import dev.stitch.engine.hub.HubId;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.concurrent.Callable;

/** {@code stitch pull}: a diffusers model from the Hugging Face Hub into the local cache, where {@code --model org/name} finds it. */
@Command(name = "pull", sortOptions = false,
    description = "Download a diffusers model from the Hugging Face Hub into the local Hugging Face cache, laid out as huggingface_hub "
        + "lays it out, resuming an interrupted download and checking every file against the hash the Hub publishes. Reads HF_TOKEN "
        + "(gated or private models), HF_ENDPOINT (a mirror), HF_HUB_CACHE or HF_HOME (where the cache is). Prints the snapshot folder.")
final class PullCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "ORG/NAME[@REVISION]", description = "the model, optionally at a branch, tag or commit (default: main)")
    String model;

    @Option(names = "--variant", paramLabel = "V", description = "weights variant, e.g. fp16 (default: the default files, else the only variant there is)")
    String variant;

    @Override
    public Integer call() {
        HubId id = HubId.parse(model);
        HubClient hub = HubClient.fromEnvironment(Models.environment);
        HubCache.Snapshot s = hub.pull(id, variant, ProgressBar.bytes()::update);
        System.err.println("stitch: " + id + " is at commit " + s.commit() + " in " + hub.cache().root + "; open it with --model " + id
            + (variant == null ? "" : " --variant " + variant));
        System.out.println(s.dir());
        return 0;
    }
}
