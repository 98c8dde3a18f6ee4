package dev.coffer.agent.backup;

import static org.assertj.core.api.Assertions.assertThat;

import dev.coffer.ntfs.Run;
import java.util.List;
import org.junit.jupiter.api.Test;

class PlannerTest {
    private static final long CS = 4096;

    @Test
    void stream_followsRunsAcrossFragmentsAndHoles() {
        // 3 clusters at lcn 100, a 2-cluster hole, 3 clusters at lcn 10 (a negative run offset)
        List<Run> runs = List.of(new Run(0, 100, 3), new Run(3, Run.SPARSE, 2), new Run(5, 10, 3));
        long size = 8 * CS - 100;
        List<BlockTask> blocks = Planner.stream(runs, CS, 1 << 20, size, size, 16384);
        assertThat(blocks).hasSize(2);
        assertThat(blocks.get(0).pieces()).containsExactly(
                new Piece((1 << 20) + 100 * CS, (int) (3 * CS)), new Piece(Piece.ZEROS, (int) CS));
        assertThat(blocks.get(1).offset()).isEqualTo(16384);
        assertThat(blocks.get(1).pieces()).containsExactly(
                new Piece(Piece.ZEROS, (int) CS), new Piece((1 << 20) + 10 * CS, (int) (3 * CS - 100)));
        assertThat(blocks.get(1).length()).isEqualTo((int) (size - 16384));
    }

    @Test
    void stream_readsZerosPastTheInitializedSize() {
        List<Run> runs = List.of(new Run(0, 7, 4));
        List<BlockTask> blocks = Planner.stream(runs, CS, 0, 4 * CS, CS + 10, 1 << 20);
        assertThat(blocks).singleElement().satisfies(b -> assertThat(b.pieces()).containsExactly(
                new Piece(7 * CS, (int) CS + 10), new Piece(Piece.ZEROS, (int) (3 * CS - 10))));
    }

    @Test
    void stream_ofEmptyStreamHasNoBlocks() {
        assertThat(Planner.stream(List.of(), CS, 0, 0, 0, 65536)).isEmpty();
    }

    @Test
    void grid_cutsContiguousBlocksOnAStableGrid() {
        Extents r = Extents.of(List.of(new long[] {1000, 200_000}, new long[] {300_000, 10}));
        List<BlockTask> b = Planner.grid(r, 0, 65536, 512);
        assertThat(b).extracting(BlockTask::offset).containsExactly(1000L, 65536L, 131072L, 196608L, 300_000L);
        assertThat(b.get(0).length()).isEqualTo(65536 - 1000);
        assertThat(b.get(3).length()).isEqualTo(201_000 - 196608);
        assertThat(b.get(4).pieces()).containsExactly(new Piece(300_512, 10));
    }

    @Test
    void extents_setOperations() {
        Extents a = Extents.of(List.of(new long[] {0, 100}, new long[] {50, 100}, new long[] {300, 50}));
        assertThat(a.toString()).isEqualTo("[0-150, 300-350]");
        Extents b = Extents.of(List.of(new long[] {10, 10}, new long[] {140, 170}, new long[] {340, 100}));
        assertThat(a.minus(b).toString()).isEqualTo("[0-10, 20-140, 310-340]");
        assertThat(a.intersect(b).toString()).isEqualTo("[10-20, 140-150, 300-310, 340-350]");
        assertThat(a.minus(Extents.EMPTY).total()).isEqualTo(200);
        assertThat(a.scale(4096, 1 << 20).start(1)).isEqualTo(300 * 4096 + (1 << 20));
    }
}
